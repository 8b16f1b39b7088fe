# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Apply one per-port function to many ports with bounded concurrency.

Each port is planned and written on its own (one PUT, with the revision
precondition), so a failure on one port never leaves another half-applied.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError


def run_per_port(ports, work, concurrency, describe_error):
    """Call work(port) for every port; return a list of (port, result, error message).

    describe_error(exc) turns an exception into a message, or returns None for
    an exception that is a bug (re-raised).
    """
    if concurrency < 1:
        raise PortsecError('concurrency must be at least 1, got %d.' % concurrency)

    def guarded(port):
        try:
            return port, work(port), None
        except Exception as exc:  # pylint: disable=broad-except
            message = describe_error(exc)
            if message is None:
                raise
            return port, None, message

    if len(ports) <= 1 or concurrency == 1:
        return [guarded(port) for port in ports]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(ports))) as pool:
        return list(pool.map(guarded, ports))


def bulk_summary(outcomes, missing):
    """The per-port results, the failures, and a message naming the failed ports."""
    results = []
    failures = []
    for port, result, error in outcomes:
        if error is None:
            entry = dict(result)
            entry['failed'] = False
        else:
            entry = {'port': {'id': port.get('id'), 'name': port.get('name')},
                     'changed': False, 'failed': True, 'msg': error}
            failures.append('%s: %s' % (port.get('name') or port.get('id'), error))
        results.append(entry)
    for ref in missing:
        message = ('Port %r was not found (or does not match port_filters): give the name or'
                   ' ID of a port the cloud user can see.' % ref)
        results.append({'port': {'id': None, 'name': ref}, 'changed': False, 'failed': True,
                        'msg': message})
        failures.append('%s: %s' % (ref, message))
    return results, failures
