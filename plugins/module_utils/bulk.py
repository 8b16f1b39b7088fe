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
from ansible_collections.portsec.openstack.plugins.module_utils.selection import is_bulk


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


def task_result(params, ports, missing, outcomes, diff_mode, warn):
    """The result of a task from its per-port outcomes; PortsecError when one failed.

    One port (port/server): its result is the task's result. Bulk (ports or
    port_filters): results holds one entry per port, and the task fails, after
    the others were applied, if any port failed.
    """
    if not is_bulk(params):
        _port, result, error = outcomes[0]
        if error is not None:
            raise PortsecError(error)
        return result
    results, failures = bulk_summary(outcomes, missing)
    output = dict(changed=any(result['changed'] for result in results), results=results)
    if diff_mode:
        output['diff'] = [result['diff'] for result in results if result.get('diff')]
    if not ports and not missing:
        warn('No port matched port_filters: nothing to do.')
    if failures:
        raise PortsecError('%d of %d ports failed: %s' % (
            len(failures), len(results), '; '.join(failures)), **output)
    return output
