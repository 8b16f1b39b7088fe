# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Thin access to the Neutron and Nova APIs through one openstacksdk connection.

Plain JSON over the SDK's authenticated adapters: every request is visible here,
so the request budget documented in the modules is easy to keep true. Updates
carry Neutron's revision precondition and are retried on conflict.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    NeutronError,
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.planning import (
    is_uuid,
    port_label,
)

# Statuses after which a PUT may or may not have been applied: re-read and re-plan.
RETRIABLE_STATUSES = (500, 502, 503, 504)

POLICY_FIELDS = ('port_security_enabled', 'allowed_address_pairs')

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


def _neutron_error(response, action):
    status = response.status_code
    error_type = None
    message = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get('NeutronError') or body.get('error') or {}
        if isinstance(detail, dict):
            error_type = detail.get('type')
            message = detail.get('message')
        if message is None:
            for value in body.values():
                if isinstance(value, dict) and value.get('message'):
                    message = value['message']
                    break
    if message is None:
        message = (response.text or response.reason or '').strip()[:500]
    text = '%s failed: Neutron answered %s%s: %s' % (
        action, status, ' %s' % error_type if error_type else '', message)
    return NeutronError(text, status=status, error_type=error_type,
                        neutron_message=message)


class Cloud:
    """Neutron/Nova requests for one task. `conn` is an openstacksdk Connection."""

    def __init__(self, conn, max_attempts=10, sleep=time.sleep, settle_seconds=SETTLE_SECONDS,
                 quiet_seconds=QUIET_SECONDS, watch_seconds=WATCH_SECONDS):
        self.conn = conn
        self.max_attempts = max_attempts
        self.settle_seconds = settle_seconds
        self.quiet_seconds = quiet_seconds
        self.watch_seconds = watch_seconds
        self.sleep = sleep
        self.requests = 0

    # -- raw requests ----------------------------------------------------------

    def _request(self, adapter, method, url, action, **kwargs):
        self.requests += 1
        response = adapter.request(url, method, raise_exc=False, **kwargs)
        if response.status_code >= 400:
            raise _neutron_error(response, action)
        if not response.content:
            return {}
        return response.json()

    def _network(self, method, url, action, **kwargs):
        return self._request(self.conn.network, method, url, action, **kwargs)

    # -- reads -------------------------------------------------------------------

    def get_port(self, port_id):
        return self._network('GET', '/ports/%s' % port_id, 'Reading port %s' % port_id)['port']

    def list_ports(self, **filters):
        return self._network('GET', '/ports', 'Listing ports', params=filters)['ports']

    def list_networks(self, **filters):
        return self._network('GET', '/networks', 'Listing networks', params=filters)['networks']

    def get_network(self, network_id):
        return self._network('GET', '/networks/%s' % network_id,
                             'Reading network %s' % network_id)['network']

    def list_security_groups(self, **filters):
        filters.setdefault('fields', ['id', 'name', 'project_id'])
        return self._network('GET', '/security-groups', 'Listing security groups',
                             params=filters)['security_groups']

    def list_floating_ips(self, **filters):
        return self._network('GET', '/floatingips', 'Listing floating IPs',
                             params=filters)['floatingips']

    def list_address_groups(self, **filters):
        return self._network('GET', '/address-groups', 'Listing address groups',
                             params=filters)['address_groups']

    def list_servers(self, **filters):
        """Servers (id and name) in one request; Nova filters by project unless
        all_tenants is given by an admin."""
        return self._request(self.conn.compute, 'GET', '/servers', 'Listing servers',
                             params=filters)['servers']

    def find_servers(self, name_or_id):
        """Servers whose ID or exact name is name_or_id (Nova filters by regex)."""
        compute = self.conn.compute
        if is_uuid(name_or_id):
            try:
                server = self._request(compute, 'GET', '/servers/%s' % name_or_id,
                                       'Reading server %s' % name_or_id)['server']
                return [server]
            except NeutronError as exc:
                if exc.status != 404:
                    raise
        servers = self._request(compute, 'GET', '/servers', 'Listing servers',
                                params={'name': '^%s$' % _regex_escape(name_or_id)})['servers']
        return [server for server in servers if server.get('name') == name_or_id]

    # -- writes --------------------------------------------------------------------

    def update_port(self, port_id, changes, revision=None):
        headers = {}
        if revision is not None:
            headers['If-Match'] = 'revision_number=%d' % revision
        return self._network('PUT', '/ports/%s' % port_id, 'Updating port %s' % port_id,
                             json={'port': changes}, headers=headers)['port']

    def _watch_port(self, current, plan_fn):
        """Re-read a port that other writers are changing until its revision holds
        still for quiet_seconds (at most watch_seconds). Returns (port, undone):
        undone is True as soon as a read shows our change gone."""
        waited = 0.0
        while waited < self.watch_seconds:
            self.sleep(self.quiet_seconds)
            waited += self.quiet_seconds
            again = self.get_port(current['id'])
            if plan_fn(again).changes:
                return again, True
            if again.get('revision_number') == current.get('revision_number'):
                return again, False
            current = again
        return current, False

    def converge_port(self, port, plan_fn, check_mode=False):
        """Read-plan-write with Neutron's revision precondition.

        plan_fn(port) returns an object with .changes (a dict of fields to PUT).
        On 412 (another writer was first; also its other form, see
        CONCURRENT_WRITE_ERRORS) or an answer that leaves the outcome
        unknown (5xx, connection lost), re-read the port by ID, re-plan and retry,
        a bounded number of times with jitter. After a successful PUT the port is
        read back and re-planned, in case a concurrent write landed on top of it
        (LOST_UPDATE); when other writers are at work, it is watched until it holds
        still (QUIET_SECONDS). Returns (port_after, plan, attempts, conflicts).
        """
        attempts = 0
        conflicts = 0
        # A plan sent in a PUT whose outcome we could not see (5xx, lost
        # connection), or one that Neutron applied and another writer undid: if the
        # re-read shows nothing left to do, our write is what put it there.
        unconfirmed = None
        while True:
            attempts += 1
            plan = plan_fn(port)
            if not plan.changes:
                return port, unconfirmed or plan, attempts, conflicts
            if check_mode:
                after = dict(port)
                after.update(plan.changes)
                return after, plan, attempts, conflicts
            try:
                written = self.update_port(port['id'], plan.changes, revision=port.get('revision_number'))
                # Read back, after Neutron's first DB retry interval: another writer's
                # PUT that Neutron retried internally can land on top of ours without
                # its If-Match (see LOST_UPDATE).
                self.sleep(self.settle_seconds)
                current = self.get_port(port['id'])
                if not plan_fn(current).changes:
                    contended = conflicts > 0 or (
                        current.get('revision_number') != (written or {}).get('revision_number'))
                    if not contended:
                        return current, plan, attempts, conflicts
                    current, undone = self._watch_port(current, plan_fn)
                    if not undone:
                        return current, plan, attempts, conflicts
                unconfirmed = plan
                conflicts += 1
                if attempts >= self.max_attempts:
                    raise PortsecError(
                        'Port %s was changed back by another writer right after each of %d'
                        ' updates; re-run the task.' % (port_label(port), attempts),
                        attempts=attempts, conflicts=conflicts)
                port = current
                self.sleep(random.uniform(0.05, 0.25) * attempts)
                continue
            except NeutronError as exc:
                if exc.status == 412 or exc.error_type in CONCURRENT_WRITE_ERRORS:
                    conflicts += 1
                elif exc.status in RETRIABLE_STATUSES:
                    unconfirmed = plan
                else:
                    raise
                if attempts >= self.max_attempts:
                    raise PortsecError(
                        'Port %s could not be updated after %d attempts: %s. Other writers'
                        ' kept changing it, or Neutron kept failing; re-run the task.'
                        % (port_label(port), attempts, exc.message),
                        attempts=attempts, conflicts=conflicts)
            except Exception as exc:  # pylint: disable=broad-except
                if not _is_connection_error(exc) or attempts >= self.max_attempts:
                    raise
                unconfirmed = plan
            self.sleep(random.uniform(0.05, 0.25) * attempts)
            # Never reuse the object of a failed update: re-read by ID.
            port = self.get_port(port['id'])


def _is_connection_error(exc):
    try:
        from keystoneauth1 import exceptions as ksa_exceptions
    except ImportError:
        return False
    return isinstance(exc, (ksa_exceptions.ConnectionError, ksa_exceptions.RetriableConnectionFailure))


def _regex_escape(text):
    """Escape a name for Nova's regex name filter (same as re.escape, kept
    explicit because the database's regex dialect is not Python's)."""
    special = set('.^$*+?{}[]\\|()')
    return ''.join('\\' + char if char in special else char for char in text)


def explain_update_error(exc, port, fields):
    """Turn Neutron's answer to a port update into a message a user can act on.

    Neutron's own message is always included.
    """
    if not isinstance(exc, NeutronError):
        return exc
    label = port_label(port)
    policy_fields = [field for field in fields if field in POLICY_FIELDS]
    if exc.status == 403 and policy_fields:
        message = (
            'Neutron refused to change %s on port %s (403 Forbidden). Its default policy'
            ' lets only an admin or a member of the project that owns the port\'s network'
            ' (network %s) change port_security_enabled and allowed_address_pairs, even on'
            ' a port of your own on a shared network. Run the task as the network owner'
            ' or an admin, or ask them to change it. Neutron said: %s'
            % (', '.join(policy_fields), label, port.get('network_id'), exc.neutron_message))
    elif exc.error_type == 'AllowedAddressPairExhausted':
        count = len(port.get('allowed_address_pairs') or [])
        message = (
            'Port %s cannot hold that many allowed address pairs: the update asked for'
            ' more than the cloud allows (server option max_allowed_address_pair, 10 by'
            ' default; the port has %d now). Use fewer pairs, for example one prefix'
            ' instead of several hosts. Neutron said: %s'
            % (label, count, exc.neutron_message))
    elif exc.error_type == 'AddressPairAndPortSecurityRequired':
        message = (
            'Port %s has port security disabled, and allowed address pairs require it.'
            ' Enable it first (portsec.openstack.port_security with'
            ' port_security_enabled: true). Neutron said: %s' % (label, exc.neutron_message))
    elif exc.status == 403:
        message = ('Neutron refused to update port %s (403 Forbidden): the cloud user may'
                   ' not change it. Neutron said: %s' % (label, exc.neutron_message))
    else:
        message = 'Updating port %s failed: Neutron answered %s%s: %s' % (
            label, exc.status, ' %s' % exc.error_type if exc.error_type else '',
            exc.neutron_message)
    return NeutronError(message, status=exc.status, error_type=exc.error_type,
                        neutron_message=exc.neutron_message)


def require_extension_field(port, field, alias):
    """A port without the field means Neutron lacks the extension."""
    if field not in port:
        raise PortsecError(
            'This Neutron does not offer the %s extension (port %s has no %s field), so'
            ' %s cannot be managed here. Ask the cloud operator to enable it (ML2'
            ' extension driver / service plugin %s).'
            % (alias, port_label(port), field, field, alias))
