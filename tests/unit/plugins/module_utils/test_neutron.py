# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Request layer, selection and group resolution, with a fake at the SDK boundary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.portsec.openstack.plugins.module_utils.errors import NeutronError, PortsecError
from ansible_collections.portsec.openstack.plugins.module_utils.converge import RetryPolicy, converge_port
from ansible_collections.portsec.openstack.plugins.module_utils.groups import GroupCatalog
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import (
    IF_MATCH,
    IF_MATCH_MISSING,
    Cloud,
    explain_update_error,
    require_extension_field,
)
from ansible_collections.portsec.openstack.plugins.module_utils.addresses import plan_pairs, parse_requested_pairs
from ansible_collections.portsec.openstack.plugins.module_utils.selection import select_one_port

PORT_ID = '11111111-2222-3333-4444-555555555555'
MAC = 'fa:16:3e:00:00:01'


class FakeResponse:
    def __init__(self, status, body=None):
        self.status_code = status
        self._body = body
        self.content = json.dumps(body).encode() if body is not None else b''
        self.text = self.content.decode()
        self.reason = 'reason'

    def json(self):
        if self._body is None:
            raise ValueError('no body')
        return self._body


class FakeAdapter:
    """Answers requests from a list of (method, url-prefix, response) rules, in order."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []

    def request(self, url, method, raise_exc=False, **kwargs):
        self.calls.append((method, url, kwargs))
        for index, (rule_method, rule_url, response) in enumerate(self.script):
            if rule_method == method and url == rule_url:
                del self.script[index]
                if isinstance(response, Exception):
                    raise response
                return response
        raise AssertionError('unexpected request %s %s' % (method, url))


class FakeConn:
    def __init__(self, network_script, compute_script=()):
        self.network = FakeAdapter(network_script)
        self.compute = FakeAdapter(compute_script)


def port(revision=1, pairs=(), **extra):
    body = {'id': PORT_ID, 'name': 'port-a', 'mac_address': MAC, 'network_id': 'net',
            'port_security_enabled': True, 'security_groups': [], 'project_id': 'p1',
            'allowed_address_pairs': list(pairs), 'revision_number': revision}
    body.update(extra)
    return body


def asked(conn, if_match=True):
    """A Cloud that has asked Neutron about revision-if-match already, so that a test of the
    write sequence counts the port's requests only (the look-up has its own tests below)."""
    cloud = Cloud(conn)
    cloud.extensions[IF_MATCH] = if_match
    return cloud


def neutron_error(status, error_type, message):
    return FakeResponse(status, {'NeutronError': {'type': error_type, 'message': message, 'detail': ''}})


def ours_pair():
    return {'ip_address': '10.0.0.5', 'mac_address': MAC}


def add_pair_plan(ip):
    wanted = parse_requested_pairs([ip])[0]
    return lambda current: plan_pairs(current, wanted, 'present')


def test_update_sends_revision_precondition():
    applied = port(2, [{'ip_address': '10.0.0.5', 'mac_address': MAC}])
    conn = FakeConn([('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': applied})),
                     ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': applied}))])
    policy = RetryPolicy(sleep=lambda _s: None)
    after, plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    method, _url, kwargs = conn.network.calls[0]
    assert method == 'PUT'
    assert kwargs['headers'] == {'If-Match': 'revision_number=1'}
    assert kwargs['json'] == {'port': {'allowed_address_pairs': [{'ip_address': '10.0.0.5'}]}}
    assert (attempts, conflicts, after['revision_number']) == (1, 0, 2)


def test_conflict_rereads_replans_and_keeps_the_other_writers_pair():
    other = {'ip_address': '10.0.0.9', 'mac_address': MAC}
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, neutron_error(412, 'RevisionNumberConstraintFailed',
                                                     'Constrained to 1, but current revision is 2')),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [other])})),
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3)})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3, [other, ours_pair()])})),
        # a conflict means other writers: one more read, which finds the port still
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3, [other, ours_pair()])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    _after, _plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert conn.network.script == []
    second_put = conn.network.calls[2][2]
    assert second_put['headers'] == {'If-Match': 'revision_number=2'}
    assert second_put['json']['port']['allowed_address_pairs'] == [other, {'ip_address': '10.0.0.5'}]
    assert (attempts, conflicts) == (2, 1)


def test_a_write_undone_right_after_is_read_back_and_applied_again():
    # Neutron's internal retry of a concurrent PUT can land on ours without If-Match.
    clobbered = port(3, [{'ip_address': '10.0.0.9', 'mac_address': MAC}])
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': clobbered})),
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(4)})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(4, [ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(4, [ours_pair()])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    after, plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert (attempts, conflicts) == (2, 1)
    assert conn.network.calls[2][2]['headers'] == {'If-Match': 'revision_number=3'}
    assert plan.changed and after['revision_number'] == 4


def test_a_lone_write_costs_one_read_back():
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
    ])
    sleeps = []
    policy = RetryPolicy(sleep=sleeps.append)
    converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert [call[0] for call in conn.network.calls] == ['PUT', 'GET']
    assert sleeps == [policy.settle_seconds]


def test_a_write_undone_late_by_a_busy_port_is_applied_again():
    # Another writer moved the revision past ours: the port is watched, and a stale
    # retried transaction that lands seconds later is caught and undone.
    other = {'ip_address': '10.0.0.9', 'mac_address': MAC}
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3, [ours_pair(), other])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(4, [ours_pair(), other])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(5, [other])})),
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(6, [other, ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(6, [other, ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(6, [other, ours_pair()])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    after, plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert conn.network.script == []
    assert conn.network.calls[4][2]['headers'] == {'If-Match': 'revision_number=5'}
    assert (attempts, conflicts, after['revision_number']) == (2, 1, 6)
    assert plan.changed


def test_a_write_undone_then_restored_by_another_writer_still_counts_as_our_change():
    other = {'ip_address': '10.0.0.9', 'mac_address': MAC}
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3, [other])})),
        ('PUT', '/ports/%s' % PORT_ID, neutron_error(412, 'RevisionNumberConstraintFailed', 'x')),
        # another writer's list, read after our first write, put our pair back
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(4, [other, ours_pair()])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    _after, plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert (attempts, conflicts) == (3, 2)
    assert plan.changed


def test_watching_a_busy_port_is_bounded():
    script = [('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])}))]
    script += [('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(r, [ours_pair()])}))
               for r in range(3, 10)]
    conn = FakeConn(script)
    policy = RetryPolicy(sleep=lambda _s: None, quiet_seconds=2.0, watch_seconds=6.0)
    after, _plan, _attempts, _conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    # the read-back, then three watches of 2 s
    assert len(conn.network.calls) == 5 and after['revision_number'] == 6


def test_conflict_where_the_other_writer_did_our_change_ends_without_write():
    ours = {'ip_address': '10.0.0.5', 'mac_address': MAC}
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, neutron_error(412, 'RevisionNumberConstraintFailed', 'x')),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    _after, plan, attempts, _conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert not plan.changed and attempts == 2


def test_lost_answer_then_applied_reports_the_change():
    ours = {'ip_address': '10.0.0.5', 'mac_address': MAC}
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(503, {'message': 'busy'})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    _after, plan, _attempts, _conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert plan.changed


def test_conflicts_are_bounded():
    script = []
    for revision in range(2, 6):
        script.append(('PUT', '/ports/%s' % PORT_ID, neutron_error(412, 'RevisionNumberConstraintFailed', 'x')))
        script.append(('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(revision)})))
    script.append(('PUT', '/ports/%s' % PORT_ID, neutron_error(412, 'RevisionNumberConstraintFailed', 'x')))
    policy = RetryPolicy(max_attempts=5, sleep=lambda _s: None)
    with pytest.raises(PortsecError, match='after 5 attempts'):
        converge_port(asked(FakeConn(script)), port(1), add_pair_plan('10.0.0.5'), policy=policy)


def test_5xx_then_a_read_showing_the_change_missing_writes_again():
    # The 503 leaves the outcome unknown: re-read, see the pair missing, write again.
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(503, {'message': 'busy'})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(1)})),
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    after, plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert [call[0] for call in conn.network.calls] == ['PUT', 'GET', 'PUT', 'GET']
    assert conn.network.calls[2][2]['headers'] == {'If-Match': 'revision_number=1'}
    assert (attempts, conflicts, after['revision_number']) == (2, 0, 2) and plan.changed


def test_a_dropped_connection_is_retried_after_a_re_read():
    from keystoneauth1 import exceptions as ksa_exceptions
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, ksa_exceptions.ConnectFailure('connection reset')),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(1)})),
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    after, plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert conn.network.script == []
    assert (attempts, conflicts, after['revision_number']) == (2, 0, 2) and plan.changed


def test_a_connection_that_keeps_dropping_ends_with_the_connection_error():
    from keystoneauth1 import exceptions as ksa_exceptions
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, ksa_exceptions.ConnectFailure('connection reset')),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(1)})),
        ('PUT', '/ports/%s' % PORT_ID, ksa_exceptions.ConnectFailure('connection reset again')),
    ])
    policy = RetryPolicy(max_attempts=2, sleep=lambda _s: None)
    with pytest.raises(ksa_exceptions.ConnectFailure, match='again'):
        converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert conn.network.script == []


def test_changed_back_after_each_update_is_bounded():
    # Every write lands, and every read-back shows it undone: stop after max_attempts.
    script = []
    for revision in (2, 4, 6):
        script.append(('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(revision, [ours_pair()])})))
        script.append(('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(revision + 1)})))
    conn = FakeConn(script)
    policy = RetryPolicy(max_attempts=3, sleep=lambda _s: None)
    with pytest.raises(PortsecError, match='changed back by another writer right after each of 3 updates') as err:
        converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert conn.network.script == []
    assert (err.value.result['attempts'], err.value.result['conflicts']) == (3, 3)
    # each write carried the revision the previous read-back showed
    assert [call[2]['headers'] for call in conn.network.calls if call[0] == 'PUT'] == [
        {'If-Match': 'revision_number=%d' % revision} for revision in (1, 3, 5)]


def test_ports_are_normalised_where_they_are_read():
    legacy = port(1, [{'ip_address': '10.0.0.5', 'mac_address': 'FA:16:3E:00:00:09'}],
                  mac_address='FA:16:3E:00:00:01', tenant_id='p9')
    del legacy['project_id']
    conn = FakeConn([('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': legacy}))])
    read = Cloud(conn).get_port(PORT_ID)
    assert read['mac_address'] == MAC and read['project_id'] == 'p9'
    assert read['allowed_address_pairs'] == [{'ip_address': '10.0.0.5', 'mac_address': 'fa:16:3e:00:00:09'}]


def test_check_mode_never_writes():
    conn = FakeConn([])
    policy = RetryPolicy()
    after, plan, _attempts, _conflicts = converge_port(Cloud(conn), port(1), add_pair_plan('10.0.0.5'), check_mode=True, policy=policy)
    assert conn.network.calls == []
    assert plan.changed and after['allowed_address_pairs'] == [{'ip_address': '10.0.0.5'}]


def test_other_errors_are_not_retried():
    conn = FakeConn([('PUT', '/ports/%s' % PORT_ID,
                      neutron_error(400, 'AllowedAddressPairExhausted',
                                    'The number of allowed address pair exceeds the maximum 10.'))])
    policy = RetryPolicy(sleep=lambda _s: None)
    with pytest.raises(NeutronError) as err:
        converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    explained = explain_update_error(err.value, port(1), ['allowed_address_pairs'])
    assert 'max_allowed_address_pair' in explained.message
    assert 'exceeds the maximum 10' in explained.message


def test_403_on_policy_fields_explains_the_network_owner_rule():
    exc = NeutronError('x', status=403, error_type='PolicyNotAuthorized',
                       neutron_message="rule:update_port:port_security_enabled is disallowed by policy")
    message = explain_update_error(exc, port(1), ['port_security_enabled']).message
    assert 'project that owns the port\'s network' in message
    assert 'disallowed by policy' in message


def test_missing_extension_is_named():
    body = port(1)
    del body['port_security_enabled']
    with pytest.raises(PortsecError, match='port-security extension'):
        require_extension_field(body, 'port_security_enabled', 'port-security')


# -- selection -------------------------------------------------------------------------

def test_port_by_id_is_one_get():
    conn = FakeConn([('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port()}))])
    assert select_one_port(Cloud(conn), {'port': PORT_ID})['id'] == PORT_ID
    assert len(conn.network.calls) == 1


def test_port_by_name_lists_by_name():
    conn = FakeConn([('GET', '/ports', FakeResponse(200, {'ports': [port()]}))])
    select_one_port(Cloud(conn), {'port': 'port-a'})
    assert conn.network.calls[0][2]['params'] == {'name': 'port-a'}


def test_ambiguous_port_name_lists_candidates():
    conn = FakeConn([('GET', '/ports', FakeResponse(200, {'ports': [port(), port(id='other-id')]}))])
    with pytest.raises(PortsecError) as err:
        select_one_port(Cloud(conn), {'port': 'port-a'})
    assert 'matches 2 ports' in err.value.message and 'other-id' in err.value.message


def test_unknown_port():
    conn = FakeConn([('GET', '/ports', FakeResponse(200, {'ports': []}))])
    with pytest.raises(PortsecError, match="Port 'nope' was not found"):
        select_one_port(Cloud(conn), {'port': 'nope'})


def test_server_with_two_ports_needs_a_selector():
    ports = [port(fixed_ips=[{'ip_address': '192.168.1.11'}]),
             port(id='db-port', network_id='db-net', fixed_ips=[{'ip_address': '10.10.10.11'}])]
    conn = FakeConn([('GET', '/ports', FakeResponse(200, {'ports': ports}))],
                    [('GET', '/servers', FakeResponse(200, {'servers': [{'id': 'srv', 'name': 'vm-a'}]}))])
    with pytest.raises(PortsecError) as err:
        select_one_port(Cloud(conn), {'server': 'vm-a'})
    assert 'has 2 ports' in err.value.message and 'db-port' in err.value.message


def test_server_port_by_fixed_ip():
    ports = [port(fixed_ips=[{'ip_address': '192.168.1.11'}]),
             port(id='db-port', fixed_ips=[{'ip_address': '10.10.10.11'}])]
    conn = FakeConn([('GET', '/ports', FakeResponse(200, {'ports': ports}))],
                    [('GET', '/servers', FakeResponse(200, {'servers': [{'id': 'srv', 'name': 'vm-a'}]}))])
    assert select_one_port(Cloud(conn), {'server': 'vm-a', 'fixed_ip': '10.10.10.11'})['id'] == 'db-port'


def test_unknown_server():
    conn = FakeConn([], [('GET', '/servers', FakeResponse(200, {'servers': [{'id': 'x', 'name': 'vm-ab'}]}))])
    with pytest.raises(PortsecError, match="Server 'vm-a' was not found"):
        select_one_port(Cloud(conn), {'server': 'vm-a'})


# -- security groups -----------------------------------------------------------------------

def catalog(groups, extra=()):
    script = [('GET', '/security-groups', FakeResponse(200, {'security_groups': groups}))]
    script.extend(extra)
    return GroupCatalog(Cloud(FakeConn(script)), 'p1')


def test_group_names_resolve_in_the_port_project():
    groups = catalog([{'id': 'g1', 'name': 'default'}, {'id': 'g2', 'name': 'ssh'}])
    assert groups.resolve(['ssh', 'g1']) == ['g2', 'g1']
    assert groups.cloud.conn.network.calls[0][2]['params']['project_id'] == 'p1'


def test_ambiguous_group_name_lists_candidates():
    groups = catalog([{'id': 'g1', 'name': 'db'}, {'id': 'g2', 'name': 'db'}])
    with pytest.raises(PortsecError, match=r"'db' matches 2 groups in project p1 \(g1, g2\)"):
        groups.resolve(['db'])


def test_unknown_group_is_named():
    groups = catalog([{'id': 'g1', 'name': 'default'}])
    with pytest.raises(PortsecError, match="Security group 'web' was not found in project p1"):
        groups.resolve(['web'])


# -- bulk ----------------------------------------------------------------------------------

def test_many_ports_by_id_and_name_cost_two_lists():
    from ansible_collections.portsec.openstack.plugins.module_utils.selection import select_many
    other = port(id='22222222-2222-3333-4444-555555555555', name='port-b')
    conn = FakeConn([('GET', '/ports', FakeResponse(200, {'ports': [port()]})),
                     ('GET', '/ports', FakeResponse(200, {'ports': [other]}))])
    ports, missing = select_many(Cloud(conn), {'ports': ['port-b', PORT_ID, 'nope']})
    assert [p['id'] for p in ports] == [other['id'], PORT_ID]
    assert missing == ['nope']
    assert conn.network.calls[0][2]['params'] == {'id': [PORT_ID]}
    assert conn.network.calls[1][2]['params'] == {'name': ['port-b', 'nope']}


def test_port_filters_become_neutron_filters_and_a_name_pattern():
    from ansible_collections.portsec.openstack.plugins.module_utils.selection import select_many
    ports = [port(name='db-1'), port(id='x', name='web-1')]
    conn = FakeConn([('GET', '/ports', FakeResponse(200, {'ports': ports}))])
    selected, missing = select_many(Cloud(conn), {'port_filters': {
        'network': '33333333-2222-3333-4444-555555555555', 'tags': ['a', 'b'], 'name': 'db-*'}})
    assert [p['name'] for p in selected] == ['db-1'] and missing == []
    assert conn.network.calls[0][2]['params'] == {
        'network_id': ['33333333-2222-3333-4444-555555555555'], 'tags': 'a,b'}


def test_bulk_refuses_single_port_selectors():
    from ansible_collections.portsec.openstack.plugins.module_utils.selection import select_many
    with pytest.raises(PortsecError, match='use port_filters'):
        select_many(Cloud(FakeConn([])), {'ports': ['a'], 'network': 'n'})


def test_run_per_port_isolates_failures():
    from ansible_collections.portsec.openstack.plugins.module_utils.bulk import bulk_summary, run_per_port

    def work(item):
        if item['id'] == 'bad':
            raise PortsecError('bad port')
        return {'changed': True, 'port': {'id': item['id']}}

    outcomes = run_per_port([{'id': 'a'}, {'id': 'bad', 'name': 'b'}, {'id': 'c'}], work, 2,
                            lambda exc: getattr(exc, 'message', None))
    results, failures = bulk_summary(outcomes, ['gone'])
    assert [r['failed'] for r in results] == [False, True, False, True]
    assert failures[0] == 'b: bad port' and failures[1].startswith('gone:')


def test_run_per_port_reraises_bugs():
    from ansible_collections.portsec.openstack.plugins.module_utils.bulk import run_per_port

    def work(_item):
        raise KeyError('bug')

    with pytest.raises(KeyError):
        run_per_port([{'id': 'a'}], work, 4, lambda exc: None)


def test_duplicate_pair_from_a_concurrent_commit_is_a_conflict():
    other = {'ip_address': '10.0.0.9', 'mac_address': MAC}
    conn = FakeConn([
        ('PUT', '/ports/%s' % PORT_ID, neutron_error(400, 'DuplicateAddressPairInRequest',
                                                     'Request contains duplicate address pair')),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [other])})),
        ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3)})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3, [other, ours_pair()])})),
        ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(3, [other, ours_pair()])})),
    ])
    policy = RetryPolicy(sleep=lambda _s: None)
    _after, _plan, attempts, conflicts = converge_port(asked(conn), port(1), add_pair_plan('10.0.0.5'), policy=policy)
    assert (attempts, conflicts) == (2, 1)


# -- Neutron extensions: asked lazily, once per task ---------------------------------------------

EXTENSION_URL = '/extensions/revision-if-match'


def extension_answer(offered):
    if offered:
        return FakeResponse(200, {'extension': {'alias': 'revision-if-match', 'name': 'If-Match constraints'}})
    return neutron_error(404, 'HTTPNotFound', 'Extension with alias revision-if-match does not exist')


@pytest.mark.parametrize('offered, headers', [
    (True, {'If-Match': 'revision_number=1'}),
    # A Neutron without the extension answers 400 to an If-Match (since Pike): none is sent.
    (False, {}),
])
def test_the_first_write_asks_for_revision_if_match(offered, headers):
    conn = FakeConn([('GET', EXTENSION_URL, extension_answer(offered)),
                     ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])})),
                     ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(2, [ours_pair()])}))])
    cloud = Cloud(conn)
    _after, plan, attempts, _conflicts = converge_port(cloud, port(1), add_pair_plan('10.0.0.5'),
                                                       policy=RetryPolicy(sleep=lambda _s: None))
    assert [call[:2] for call in conn.network.calls] == [
        ('GET', EXTENSION_URL), ('PUT', '/ports/%s' % PORT_ID), ('GET', '/ports/%s' % PORT_ID)]
    assert conn.network.calls[1][2]['headers'] == headers
    assert cloud.extensions == {IF_MATCH: offered} and plan.changed and attempts == 1


def test_revision_if_match_is_asked_once_per_task_for_every_write():
    script = [('GET', EXTENSION_URL, extension_answer(False))]
    for revision in (2, 3):  # two ports of one task (the same port twice here)
        script += [('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(revision, [ours_pair()])})),
                   ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': port(revision, [ours_pair()])}))]
    conn = FakeConn(script)
    cloud = Cloud(conn)
    for revision in (1, 2):
        converge_port(cloud, port(revision), add_pair_plan('10.0.0.5'), policy=RetryPolicy(sleep=lambda _s: None))
    assert [call[1] for call in conn.network.calls].count(EXTENSION_URL) == 1
    assert [call[2]['headers'] for call in conn.network.calls if call[0] == 'PUT'] == [{}, {}]
    assert conn.network.script == []


def test_a_no_op_and_check_mode_never_ask_for_extensions():
    conn = FakeConn([])
    cloud = Cloud(conn)
    _after, plan, _attempts, _conflicts = converge_port(cloud, port(1, [ours_pair()]), add_pair_plan('10.0.0.5'))
    assert not plan.changed
    _after, plan, _attempts, _conflicts = converge_port(cloud, port(1), add_pair_plan('10.0.0.5'), check_mode=True)
    assert plan.changed
    assert conn.network.calls == [] and cloud.extensions == {} and cloud.requests == 0


def test_a_failed_extension_look_up_changes_nothing_and_is_not_asked_again():
    conn = FakeConn([('GET', EXTENSION_URL, FakeResponse(503, {'message': 'busy'}))])
    cloud = Cloud(conn)
    for _attempt in range(2):
        with pytest.raises(PortsecError) as err:
            converge_port(cloud, port(1), add_pair_plan('10.0.0.5'), policy=RetryPolicy(sleep=lambda _s: None))
        assert 'revision-if-match extension' in err.value.message and 'nothing was changed' in err.value.message
        assert '503' in err.value.message
    assert [call[0] for call in conn.network.calls] == ['GET']


def test_the_warning_names_the_extension_and_the_risk():
    assert 'revision-if-match' in IF_MATCH_MISSING and 'can be lost' in IF_MATCH_MISSING
    assert 'revisions service plugin' in IF_MATCH_MISSING


@pytest.mark.parametrize('field, alias, hint', [
    ('port_security_enabled', 'port-security', 'extension_drivers'),
    ('allowed_address_pairs', 'allowed-address-pairs', 'mechanism driver'),
])
def test_a_port_without_the_field_names_the_extension_and_what_to_enable(field, alias, hint):
    body = port(1)
    del body[field]
    with pytest.raises(PortsecError) as err:
        require_extension_field(body, field, alias)
    message = err.value.message
    assert 'does not offer the %s extension' % alias in message and 'no %s field' % field in message
    assert 'nothing was changed' in message and 'Ask the cloud operator to enable it' in message and hint in message


def test_floating_ips_without_l3_are_none():
    # A Neutron without the router extension has no /floatingips: 404.
    conn = FakeConn([('GET', '/floatingips', neutron_error(404, 'HTTPNotFound', 'The resource could not be found.'))])
    assert Cloud(conn).list_floating_ips(port_id=PORT_ID) == []


def test_other_floating_ip_errors_are_raised():
    conn = FakeConn([('GET', '/floatingips', neutron_error(403, 'Forbidden', 'no'))])
    with pytest.raises(NeutronError, match='Listing floating IPs failed'):
        Cloud(conn).list_floating_ips()


def test_a_port_without_revision_number_is_written_without_if_match():
    # No standard-attr-revisions: no revision_number, and no revision-if-match (it requires it).
    body = port(1)
    del body['revision_number']
    written = dict(body, allowed_address_pairs=[ours_pair()])
    conn = FakeConn([('GET', EXTENSION_URL, extension_answer(False)),
                     ('PUT', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': written})),
                     ('GET', '/ports/%s' % PORT_ID, FakeResponse(200, {'port': written}))])
    _after, plan, attempts, conflicts = converge_port(Cloud(conn), body, add_pair_plan('10.0.0.5'),
                                                      policy=RetryPolicy(sleep=lambda _s: None))
    assert conn.network.calls[1][2]['headers'] == {} and conn.network.script == []
    assert (plan.changed, attempts, conflicts) == (True, 1, 0)


def test_an_extension_answer_without_the_extension_means_absent():
    # A proxy or a non-Neutron API may answer 200 with an error body: not the extension.
    conn = FakeConn([('GET', EXTENSION_URL, FakeResponse(200, {'NeutronError': {'message': 'not found'}}))])
    assert Cloud(conn).offers(IF_MATCH) is False
