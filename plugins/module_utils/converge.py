# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bring one port to its plan: one write, a retry policy, and a watch, kept apart.

write_once() is one attempt (a PUT with Neutron's revision precondition, then a
read-back); RetryPolicy decides which failures are tried again, how often and
after which pause; watch_port() waits for a port that other writers are changing
to hold still. converge_port() puts them together. Requests go through
neutron.Cloud, which does no retrying of its own.

plan_fn(port) must be pure: it is called several times per attempt (before the
write, on the read-back, on each watch) and returns an object with .changes
(the fields to PUT; empty when the port is as wanted).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    NeutronError,
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import IF_MATCH
from ansible_collections.portsec.openstack.plugins.module_utils.views import port_label

# Statuses after which a PUT may or may not have been applied: re-read and re-plan.
RETRIABLE_STATUSES = (500, 502, 503, 504)

# Neutron checks If-Match when a PUT starts, not when it commits: two writers that
# read the same revision can both pass the check. The loser then meets the
# winner's freshly inserted pair in the database's unique key and Neutron answers
# 400 DuplicateAddressPairInRequest (observed with 8 concurrent writers). Our
# requests never hold a pair twice, so this answer means "someone wrote first".
CONCURRENT_WRITE_ERRORS = ('DuplicateAddressPairInRequest',)

# LOST_UPDATE: Neutron clears the If-Match constraint of a request when it first
# checks it (neutron/services/revisions/revision_plugin.py,
# _get_constrained_instance_match). When that request's transaction then fails
# on the revision compare-and-swap because another writer committed first,
# Neutron's DB retry runs it again WITHOUT the constraint, and it overwrites the
# other writer's change (observed: 1 of 8 concurrent writers' pairs lost). So
# every write is read back, and re-planned if our change is no longer there. The
# read waits SETTLE_SECONDS first: Neutron retries a failed transaction after a
# random pause of up to 0.5 s (neutron_lib.db.api, retry_interval=0.5, jitter),
# so a write that will land on top of ours usually lands within that time.
SETTLE_SECONDS = 1.0
# A retried transaction may wait longer: the pause doubles at each retry (up to 1,
# 2, 4 s...). So when the read-back shows that other writers are at work (the
# revision moved past our write, or we met a conflict), the port is watched until
# its revision stays the same for QUIET_SECONDS, at most WATCH_SECONDS, and our
# change is applied again if it was undone meanwhile. With no other writer, the
# single read-back above is all it costs.
QUIET_SECONDS = 2.0
WATCH_SECONDS = 12.0

# What a failed attempt means (RetryPolicy.classify).
CONFLICT = 'conflict'   # another writer was first: re-read and re-plan
UNKNOWN = 'unknown'     # the write may or may not have landed: re-read and re-plan


def is_connection_error(exc):
    try:
        from keystoneauth1 import exceptions as ksa_exceptions
    except ImportError:
        return False
    return isinstance(exc, (ksa_exceptions.ConnectionError, ksa_exceptions.RetriableConnectionFailure))


class RetryPolicy:
    """Which failed attempts are retried, how many attempts at most, and the pauses."""

    def __init__(self, max_attempts=10, sleep=None, settle_seconds=SETTLE_SECONDS,
                 quiet_seconds=QUIET_SECONDS, watch_seconds=WATCH_SECONDS):
        self.max_attempts = max_attempts
        self.sleep = time.sleep if sleep is None else sleep
        self.settle_seconds = settle_seconds
        self.quiet_seconds = quiet_seconds
        self.watch_seconds = watch_seconds

    def classify(self, exc):
        """CONFLICT, UNKNOWN, or None for a failure that is not retried."""
        if isinstance(exc, NeutronError):
            if exc.status == 412 or exc.error_type in CONCURRENT_WRITE_ERRORS:
                return CONFLICT
            return UNKNOWN if exc.status in RETRIABLE_STATUSES else None
        return UNKNOWN if is_connection_error(exc) else None

    def exhausted(self, attempts):
        return attempts >= self.max_attempts

    def backoff(self, attempts):
        self.sleep(random.uniform(0.05, 0.25) * attempts)


class Tally:
    """What converge_port has done so far for one port."""

    def __init__(self):
        self.attempts = 0
        self.conflicts = 0
        # A plan sent in a PUT whose outcome we could not see (5xx, lost
        # connection), or one that Neutron applied and another writer undid: if
        # a re-read shows nothing left to do, our write is what put it there.
        self.unconfirmed = None

    def outcome(self, port, plan):
        return port, plan, self.attempts, self.conflicts


def watch_port(cloud, current, plan_fn, policy):
    """Re-read a port that other writers are changing until its revision holds
    still for quiet_seconds (at most watch_seconds). Returns (port, undone):
    undone is True as soon as a read shows our change gone."""
    waited = 0.0
    while waited < policy.watch_seconds:
        policy.sleep(policy.quiet_seconds)
        waited += policy.quiet_seconds
        again = cloud.get_port(current['id'])
        if plan_fn(again).changes:
            return again, True
        if again.get('revision_number') == current.get('revision_number'):
            return again, False
        current = again
    return current, False


def write_once(cloud, port, plan, plan_fn, policy, contended, if_match=True):
    """One attempt: the PUT with the revision precondition (if_match: when Neutron
    offers revision-if-match), then the read-back.

    The read waits settle_seconds, Neutron's first DB retry interval: another
    writer's PUT that Neutron retried internally can land on top of ours without
    its If-Match (LOST_UPDATE). When other writers are at work (contended: we met
    a conflict before; or the revision moved past our write) the port is watched.
    Returns (port, landed): landed is False when our change is not, or no longer, there.
    """
    revision = port.get('revision_number') if if_match else None
    written = cloud.update_port(port['id'], plan.changes, revision=revision)
    policy.sleep(policy.settle_seconds)
    current = cloud.get_port(port['id'])
    if plan_fn(current).changes:
        return current, False
    if not contended and current.get('revision_number') == (written or {}).get('revision_number'):
        return current, True
    current, undone = watch_port(cloud, current, plan_fn, policy)
    return current, not undone


def count_failure(exc, port, plan, policy, tally):
    """Count a failed attempt; False when it is not retried (re-raise it)."""
    kind = policy.classify(exc)
    if kind is None:
        return False
    if kind == CONFLICT:
        tally.conflicts += 1
    else:
        tally.unconfirmed = plan
    if not policy.exhausted(tally.attempts):
        return True
    if not isinstance(exc, NeutronError):
        return False
    raise PortsecError(
        'Port %s could not be updated after %d attempts: %s. Other writers'
        ' kept changing it, or Neutron kept failing; re-run the task.'
        % (port_label(port), tally.attempts, exc.message),
        attempts=tally.attempts, conflicts=tally.conflicts)


def converge_port(cloud, port, plan_fn, check_mode=False, policy=None):
    """Read-plan-write until the port is as plan_fn wants it.

    On 412 (another writer was first; also its other form, see
    CONCURRENT_WRITE_ERRORS) or an answer that leaves the outcome unknown (5xx,
    connection lost), the port is re-read by ID, re-planned and written again,
    at most policy.max_attempts times, with jitter. Returns (port_after, plan,
    attempts, conflicts); in check mode port_after is the prediction.

    Before the first write, Neutron is asked whether it offers revision-if-match
    (once per task: Cloud.offers); without it the PUT carries no If-Match, which
    such a Neutron would refuse. A no-op and check mode never ask.
    """
    policy = policy or RetryPolicy()
    tally = Tally()
    while True:
        tally.attempts += 1
        plan = plan_fn(port)
        if not plan.changes:
            return tally.outcome(port, tally.unconfirmed or plan)
        if check_mode:
            return tally.outcome(dict(port, **plan.changes), plan)
        if_match = cloud.offers(IF_MATCH)  # outside the try: a failed look-up is no failed write
        try:
            current, landed = write_once(cloud, port, plan, plan_fn, policy, tally.conflicts > 0, if_match)
        except Exception as exc:  # pylint: disable=broad-except
            if not count_failure(exc, port, plan, policy, tally):
                raise
            policy.backoff(tally.attempts)
            # Never reuse the object of a failed update: re-read by ID.
            port = cloud.get_port(port['id'])
            continue
        if landed:
            return tally.outcome(current, plan)
        tally.unconfirmed = plan
        tally.conflicts += 1
        if policy.exhausted(tally.attempts):
            raise PortsecError(
                'Port %s was changed back by another writer right after each of %d'
                ' updates; re-run the task.' % (port_label(port), tally.attempts),
                attempts=tally.attempts, conflicts=tally.conflicts)
        port = current
        policy.backoff(tally.attempts)
