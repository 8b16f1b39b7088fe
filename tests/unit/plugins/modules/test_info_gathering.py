# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""port_security_info and reachability: what they ask Neutron, and how often.

A fake stands at the SDK boundary (the adapters' request()); everything above it,
Cloud included, is the real code. The request count must not grow with the ports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import Cloud
from ansible_collections.portsec.openstack.plugins.modules import port_security_info as info
from ansible_collections.portsec.openstack.plugins.modules import reachability as reach

A_ID = 'aaaaaaaa-0000-0000-0000-00000000000a'
B_ID = 'bbbbbbbb-0000-0000-0000-00000000000b'
SSH_ID = '55555555-0000-0000-0000-000000000001'
DB_ID = '55555555-0000-0000-0000-000000000002'
WEB_ID = '55555555-0000-0000-0000-000000000003'


class Response:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body
        self.content = json.dumps(body).encode()
        self.text = self.content.decode()
        self.reason = ''

    def json(self):
        return self._body


class Adapter:
    def __init__(self, routes):
        self.routes = routes
        self.calls = []

    def request(self, url, method, raise_exc=False, **kwargs):
        self.calls.append((method, url, kwargs.get('params') or {}))
        handler = self.routes.get((method, url))
        if handler is None:
            return Response(404, {'NeutronError': {'type': 'NotFound', 'message': url}})
        return Response(200, handler(kwargs.get('params') or {}))


class Conn:
    def __init__(self, network_routes, compute_routes=None):
        self.network = Adapter(network_routes)
        self.compute = Adapter(compute_routes or {})


def _as_list(value):
    return value if isinstance(value, list) else [value]


def make_port(port_id, name, ip, groups, pairs=(), enabled=True, owner='compute:nova',
              device='server-1', network='net-1'):
    return {'id': port_id, 'name': name, 'network_id': network, 'project_id': 'proj',
            'mac_address': 'FA:16:3E:00:00:%s' % port_id[-2:], 'device_owner': owner,
            'device_id': device, 'fixed_ips': [{'ip_address': ip, 'subnet_id': 'sub'}],
            'port_security_enabled': enabled, 'security_groups': list(groups),
            'allowed_address_pairs': [{'ip_address': pair} for pair in pairs],
            'revision_number': 3}


def sg(group_id, name, rules):
    return {'id': group_id, 'name': name, 'project_id': 'proj', 'stateful': True,
            'security_group_rules': rules}


def sg_rule(rule_id, direction='ingress', protocol='tcp', low=None, high=None, prefix=None,
            remote_group=None, address_group=None):
    return {'id': rule_id, 'direction': direction, 'ethertype': 'IPv4', 'protocol': protocol,
            'port_range_min': low, 'port_range_max': high, 'remote_ip_prefix': prefix,
            'remote_group_id': remote_group, 'remote_address_group_id': address_group}


EGRESS = [sg_rule('eg', 'egress', None)]
GROUPS = [
    sg(SSH_ID, 'ssh', EGRESS + [sg_rule('ssh22', low=22, high=22, prefix='0.0.0.0/0')]),
    sg(DB_ID, 'db', EGRESS + [sg_rule('db5432', low=5432, high=5432, prefix='10.10.10.11/32')]),
]


def network_routes(ports, groups=None, fips=(), networks=None, address_groups=()):
    groups = GROUPS if groups is None else groups

    def list_ports(params):
        result = ports
        if 'network_id' in params:
            result = [p for p in result if p['network_id'] in _as_list(params['network_id'])]
        if 'project_id' in params:
            result = [p for p in result if p['project_id'] in _as_list(params['project_id'])]
        if 'name' in params:
            result = [p for p in result if p['name'] == params['name']]
        if 'device_id' in params:
            result = [p for p in result if p['device_id'] == params['device_id']]
        return {'ports': result}

    routes = {
        ('GET', '/ports'): list_ports,
        ('GET', '/security-groups'): lambda params: {'security_groups': [
            g for g in groups if 'id' not in params or g['id'] in _as_list(params['id'])]},
        ('GET', '/floatingips'): lambda params: {'floatingips': list(fips)},
        ('GET', '/networks'): lambda params: {'networks': networks or [
            {'id': 'net-1', 'name': 'project-net', 'router:external': False}]},
        ('GET', '/address-groups'): lambda params: {'address_groups': list(address_groups)},
    }
    for item in ports:
        routes[('GET', '/ports/%s' % item['id'])] = _port_getter(item)
    return routes


def _port_getter(found):
    return lambda params: {'port': found}


SERVERS = {('GET', '/servers'): lambda params: {'servers': [{'id': 'server-1', 'name': 'vm-b'}]}}


def info_params(**kwargs):
    params = dict(port=None, server=None, network=None, fixed_ip=None, mac_address=None,
                  ports=None, port_filters=None,
                  all_projects=False, include_rules=False, include_network_ports=False,
                  backend='ovn')
    params.update(kwargs)
    return params


def no_deprecation(message, **kwargs):
    raise AssertionError('unexpected deprecation: %s' % message)


class Deprecations(list):
    def __call__(self, message, **kwargs):
        self.append((message, kwargs))


# -- port_security_info ----------------------------------------------------------------------------

def test_info_case1_seed_step_reports_exposure():
    # Case 1 after the seed's step: B's port unfiltered, with a floating IP.
    ports = [make_port(B_ID, 'vm-b-port', '192.168.1.12', [], enabled=False)]
    conn = Conn(network_routes(ports, fips=[{'floating_ip_address': '172.24.4.20',
                                             'port_id': B_ID}]), SERVERS)
    entries, summary, _found = info.audit(Cloud(conn), info_params(port=B_ID), None, no_deprecation)
    (entry,) = entries
    assert [item['code'] for item in entry['findings']] == ['PORT_SECURITY_OFF_EXPOSED']
    assert entry['worst_severity'] == 'critical'
    assert entry['floating_ips'] == ['172.24.4.20']
    assert (entry['device_id'], entry['server_name']) == ('server-1', 'vm-b')
    assert (entry['network_id'], entry['network_name'], entry['network_external']) == ('net-1', 'project-net', False)
    assert entry['mac_address'] == 'fa:16:3e:00:00:0b'
    assert summary == {'ports': 1, 'critical': 1, 'high': 0, 'medium': 0, 'low': 0, 'info': 0}


def test_info_case2_literal_pair_and_rules_on_request():
    ports = [make_port(B_ID, 'vm-b-port', '192.168.1.12', [SSH_ID, DB_ID],
                       pairs=['10.10.10.11/24'])]
    conn = Conn(network_routes(ports), SERVERS)
    entries, _summary, _found = info.audit(Cloud(conn), info_params(port=B_ID, include_rules=True), None, no_deprecation)
    entry = entries[0]
    assert [item['code'] for item in entry['findings']] == ['PAIR_HOST_BITS']
    assert [group['name'] for group in entry['security_groups']] == ['ssh', 'db']
    assert entry['security_groups'][1]['rules'][1]['remote_ip_prefix'] == '10.10.10.11/32'
    assert entry['allowed_address_pairs'] == [{'ip_address': '10.10.10.11/24',
                                               'mac_address': 'fa:16:3e:00:00:0b'}]


@pytest.mark.parametrize('count', [2, 40, 150])
def test_info_cost_is_flat(count):
    ports = [make_port('%08d-0000-0000-0000-000000000000' % index, 'p%d' % index,
                       '10.0.%d.%d' % (index // 250, index % 250 + 1), [SSH_ID],
                       pairs=['10.9.0.%d' % (index % 250 + 1)])
             for index in range(count)]
    conn = Conn(network_routes(ports), SERVERS)
    cloud = Cloud(conn)
    entries, _summary, _found = info.audit(cloud, info_params(), 'proj', no_deprecation)
    assert len(entries) == count
    # ports, groups, networks, floating IPs, ports on the networks, servers.
    assert cloud.requests == 6
    fip_params = [params for method, url, params in conn.network.calls if url == '/floatingips']
    assert ('port_id' in fip_params[0]) is (count <= info.FILTER_LIMIT)


def test_info_skips_network_ports_and_no_pairs_no_extra_list():
    ports = [make_port(A_ID, 'vm-a', '192.168.1.11', [SSH_ID]),
             make_port(B_ID, 'router-if', '192.168.1.1', [], owner='network:router_interface',
                       device='router-1')]
    conn = Conn(network_routes(ports), SERVERS)
    cloud = Cloud(conn)
    entries, _summary, _found = info.audit(cloud, info_params(port_filters={'network': 'net-1'}), None, no_deprecation)
    assert [entry['name'] for entry in entries] == ['vm-a']
    # network name lookup, ports by network, groups, networks, floating IPs, servers;
    # no list of the network's ports, as no port has a pair.
    assert cloud.requests == 6
    with_router = info.audit(Cloud(Conn(network_routes(ports), SERVERS)),
                             info_params(port_filters={'network': 'net-1'}, include_network_ports=True),
                             None, no_deprecation)[0]
    assert [entry['name'] for entry in with_router] == ['router-if', 'vm-a']
    assert with_router[0]['findings'][0]['code'] == 'NO_SECURITY_GROUPS'


def test_info_network_alone_still_selects_the_network_and_is_deprecated():
    ports = [make_port(A_ID, 'vm-a', '192.168.1.11', [SSH_ID])]
    conn = Conn(network_routes(ports), SERVERS)
    deprecations = Deprecations()
    entries, _summary, _found = info.audit(Cloud(conn), info_params(network='net-1'), None, deprecations)
    assert [entry['name'] for entry in entries] == ['vm-a']
    port_lists = [params for method, url, params in conn.network.calls if url == '/ports']
    assert port_lists[0]['network_id'] == ['net-1']
    ((message, kwargs),) = deprecations
    assert 'port_filters: {network: net-1}' in message
    assert kwargs == {'version': '0.2.0', 'collection_name': 'portsec.openstack'}


def test_info_ports_by_name_and_id_and_unknown_ones_named():
    ports = [make_port(A_ID, 'vm-a', '192.168.1.11', [SSH_ID]), make_port(B_ID, 'vm-b', '192.168.1.12', [SSH_ID])]
    entries, _summary, _found = info.audit(Cloud(Conn(network_routes(ports), SERVERS)),
                                           info_params(ports=[B_ID, 'vm-a']), None, no_deprecation)
    assert [entry['id'] for entry in entries] == [A_ID, B_ID]  # sorted by name
    with pytest.raises(PortsecError, match="Port\\(s\\) nope not found"):
        info.audit(Cloud(Conn(network_routes(ports), SERVERS)), info_params(ports=['nope']), None, no_deprecation)


def test_info_server_shows_every_port_of_the_server():
    # A server with two ports (Case 3): both are audited, as the audit playbook asks.
    ports = [make_port(A_ID, 'vm-b-db', '10.10.10.12', [DB_ID]), make_port(B_ID, 'vm-b-port', '192.168.1.12', [SSH_ID])]
    entries, _summary, _found = info.audit(Cloud(Conn(network_routes(ports), SERVERS)), info_params(server='vm-b'),
                                           None, no_deprecation)
    assert [entry['name'] for entry in entries] == ['vm-b-db', 'vm-b-port']
    assert {entry['server_name'] for entry in entries} == {'vm-b'}


def test_info_narrowing_without_port_or_server_is_an_error():
    with pytest.raises(PortsecError) as err:
        info.audit(Cloud(Conn(network_routes([]))), info_params(fixed_ip='10.0.0.1'), None, no_deprecation)
    assert 'give port or server too' in err.value.message


# -- reachability ------------------------------------------------------------------------------------

def reach_params(**kwargs):
    endpoint = dict(port=None, server=None, network=None, fixed_ip=None, mac_address=None,
                    ip_address=None)
    params = dict(source=dict(endpoint, port=A_ID, ip_address='10.10.10.11'),
                  destination=dict(endpoint, port=B_ID, ip_address='10.10.10.12'),
                  protocol='tcp', port=5432, flows=None, backend='ovn', what_if=None)
    params.update(kwargs)
    return params


def case1(b_enabled=True, a_pairs=()):
    return [make_port(A_ID, 'vm-a-port', '192.168.1.11', [SSH_ID], pairs=a_pairs),
            make_port(B_ID, 'vm-b-port', '192.168.1.12', [SSH_ID, DB_ID] if b_enabled else [],
                      enabled=b_enabled)]


def test_reachability_case1_seed_step():
    conn = Conn(network_routes(case1(b_enabled=False)))
    cloud = Cloud(conn)
    [result], _found = reach.explain(cloud, reach_params())
    # Hand-derived (ovn-nb(5) port_security on A's inport): blocked at A.
    assert result['verdict'] == 'blocked'
    assert result['blocked_by']['port']['name'] == 'vm-a-port'
    assert result['summary'].startswith('10.10.10.11 -> 10.10.10.12 tcp/5432: blocked')
    # Two GETs of the ports and one list of their groups.
    assert cloud.requests == 3


def test_reachability_what_if_by_port_name():
    conn = Conn(network_routes(case1(b_enabled=False)))
    [result], _found = reach.explain(Cloud(conn), reach_params(what_if={
        'ports': [{'port': 'vm-a-port', 'add_pairs': ['10.10.10.11'],
                   'port_security_enabled': None, 'remove_pairs': None,
                   'security_groups': None}],
        'rules': None}))
    assert result['verdict'] == 'allowed'


def test_reachability_what_if_unknown_port():
    conn = Conn(network_routes(case1()))
    with pytest.raises(PortsecError) as err:
        reach.explain(Cloud(conn), reach_params(what_if={
            'ports': [{'port': 'vm-c', 'add_pairs': ['10.0.0.1']}], 'rules': None}))
    assert 'neither the source nor the destination' in err.value.message


def test_reachability_what_if_rule_by_group_name_costs_one_list():
    ports = case1(a_pairs=['10.10.10.11'])
    ports[1]['allowed_address_pairs'] = [{'ip_address': '10.10.10.12'}]
    conn = Conn(network_routes(ports))
    cloud = Cloud(conn)
    [result], _found = reach.explain(cloud, reach_params(protocol='icmp', port=None, what_if={
        'ports': None,
        'rules': [{'security_group': 'db', 'direction': 'ingress', 'ethertype': 'IPv4',
                   'protocol': 'icmp', 'port_range_min': None, 'port_range_max': None,
                   'remote_ip_prefix': '10.10.10.0/24', 'remote_group': None}]}))
    assert result['verdict'] == 'allowed'
    assert result['what_if'][0].startswith('adds ingress rule IPv4 icmp from 10.10.10.0/24')
    # Two ports, the project's groups (name resolution), the groups with rules.
    assert cloud.requests == 4


def test_reachability_remote_group_members_one_list():
    web = sg(WEB_ID, 'web', EGRESS)
    db = sg(DB_ID, 'db', EGRESS + [sg_rule('from-web', low=5432, high=5432,
                                           remote_group=WEB_ID)])
    other_member = make_port('cccccccc-0000-0000-0000-00000000000c', 'vm-c', '192.168.1.13',
                             [WEB_ID])
    ports = [make_port(A_ID, 'vm-a-port', '192.168.1.11', [WEB_ID]),
             make_port(B_ID, 'vm-b-port', '192.168.1.12', [DB_ID]), other_member]
    conn = Conn(network_routes(ports, groups=[web, db]))
    cloud = Cloud(conn)
    [result], _found = reach.explain(cloud, reach_params(
        source=dict(reach_params()['source'], ip_address=None),
        destination=dict(reach_params()['destination'], ip_address=None)))
    # A is a member of web by its fixed IP (acl.py acl_remote_group_id).
    assert result['verdict'] == 'allowed'
    assert cloud.requests == 4
    member_call = [params for method, url, params in conn.network.calls if url == '/ports'][0]
    assert member_call['project_id'] == ['proj']


def test_reachability_address_group_one_list():
    db = sg(DB_ID, 'db', EGRESS + [sg_rule('ag', low=5432, high=5432, address_group='ag-1')])
    ports = [make_port(A_ID, 'vm-a-port', '192.168.1.11', [SSH_ID]),
             make_port(B_ID, 'vm-b-port', '192.168.1.12', [DB_ID])]
    conn = Conn(network_routes(ports, groups=[GROUPS[0], db], address_groups=[
        {'id': 'ag-1', 'addresses': ['192.168.1.0/24']}]))
    cloud = Cloud(conn)
    [result], _found = reach.explain(cloud, reach_params(
        source=dict(reach_params()['source'], ip_address=None),
        destination=dict(reach_params()['destination'], ip_address=None)))
    assert result['verdict'] == 'allowed'
    assert cloud.requests == 4


@pytest.mark.parametrize('side, fragment', [
    ({'port': None, 'server': None}, 'needs port, or server'),
    ({'port': A_ID, 'server': 'vm-a'}, 'not both'),
])
def test_reachability_endpoint_errors(side, fragment):
    params = reach_params()
    params['source'] = dict(params['source'], **side)
    with pytest.raises(PortsecError) as err:
        reach.explain(Cloud(Conn(network_routes(case1()))), params)
    assert fragment in err.value.message


# -- reachability, several flows in one call ---------------------------------------------------------

CASE1_FLOWS = [
    {'name': 'db', 'protocol': 'tcp', 'port': 5432, 'source_ip': None, 'destination_ip': None},
    {'name': 'ping', 'protocol': 'icmp', 'port': None, 'source_ip': None, 'destination_ip': None},
    {'name': 'no rule', 'protocol': 'tcp', 'port': 5433, 'source_ip': None, 'destination_ip': None},
    {'name': 'ssh', 'protocol': 'tcp', 'port': 22, 'source_ip': '192.168.1.11',
     'destination_ip': '192.168.1.12'},
]


def test_reachability_flows_one_read_for_all():
    conn = Conn(network_routes(case1(b_enabled=False)))
    cloud = Cloud(conn)
    results, _found = reach.explain(cloud, reach_params(port=None, flows=CASE1_FLOWS))
    # Hand-derived from the rules (docs/concepts.md): with B unfiltered and no pair on A, every
    # flow from A's secondary address stops at A's anti-spoofing; ssh on the fixed IPs leaves A
    # by its egress rule and B, unfiltered, takes it.
    assert [(r['name'], r['verdict']) for r in results] == [
        ('db', 'blocked'), ('ping', 'blocked'), ('no rule', 'blocked'), ('ssh', 'allowed')]
    assert [r['blocked_by']['stage'] for r in results[:3]] == ['source_anti_spoofing'] * 3
    assert results[3]['flow']['source_ip'] == '192.168.1.11'
    assert results[0]['flow']['source_ip'] == '10.10.10.11'  # the endpoint's address
    assert results[1]['summary'] == ('10.10.10.11 -> 10.10.10.12 icmp: blocked at '
                                     'source_anti_spoofing on port vm-a-port (address 10.10.10.11)')
    # The same three requests as one flow: two ports and one list of their groups.
    assert cloud.requests == 3


def test_reachability_flows_fixed_ips_when_no_address():
    conn = Conn(network_routes(case1()))
    params = reach_params(port=None, flows=[CASE1_FLOWS[3]])
    params['flows'] = [dict(CASE1_FLOWS[3], source_ip=None, destination_ip=None)]
    params['source'] = dict(params['source'], ip_address=None)
    params['destination'] = dict(params['destination'], ip_address=None)
    [result], _found = reach.explain(Cloud(conn), params)
    assert result['flow']['source_ip'] == '192.168.1.11'
    assert result['flow']['destination_ip'] == '192.168.1.12'
    assert result['verdict'] == 'allowed'  # B's ssh group admits tcp/22 from anywhere


@pytest.mark.parametrize('params, message', [
    ({'port': None}, 'protocol is tcp but all of the following are missing: port'),
    ({'port': None, 'protocol': 'udp'}, 'protocol is udp but all of the following are missing: port'),
    ({'port': None, 'flows': []}, 'flows is empty: give at least one flow'),
])
def test_reachability_flow_input_errors(params, message):
    conn = Conn(network_routes(case1()))
    with pytest.raises(PortsecError) as err:
        reach.explain(Cloud(conn), reach_params(**params))
    assert err.value.message.startswith(message)
    assert conn.network.calls == []  # nothing asked before the input is known good


def test_reachability_flow_error_names_the_flow():
    flows = [CASE1_FLOWS[0], {'name': 'web', 'protocol': 'tcp', 'port': None,
                              'source_ip': None, 'destination_ip': None}]
    conn = Conn(network_routes(case1()))
    with pytest.raises(PortsecError) as err:
        reach.explain(Cloud(conn), reach_params(port=None, flows=flows))
    assert err.value.message == 'flows[1] (web): A tcp flow needs the destination port number (port).'
    assert conn.network.calls == []


def test_reachability_flow_port_out_of_range_before_any_request():
    flows = [{'name': 'high', 'protocol': 'udp', 'port': 70000, 'source_ip': None, 'destination_ip': None}]
    conn = Conn(network_routes(case1()))
    with pytest.raises(PortsecError) as err:
        reach.explain(Cloud(conn), reach_params(port=None, flows=flows))
    assert err.value.message == 'flows[0] (high): port 70000 is not between 1 and 65535.'
    assert conn.network.calls == []


def _local_extensions(name):
    path = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'data', 'backend_%s.json' % name)
    with open(path) as handle:
        return [{'alias': alias} for alias in json.load(handle)['member_extensions']]


@pytest.mark.parametrize('name, backend, reading', [
    ('ovn', 'ovn', 'reads it as 10.10.10.11 alone'),
    # A member on ML2/OVS: not OVN, firewall driver unseen; both ML2/OVS drivers read the /24.
    ('ovs', 'unknown', 'ML2/OVN reads it as 10.10.10.11 alone (the mask only gives the subnet size), ML2/OVS as'),
])
def test_info_auto_backend_costs_one_request_and_shapes_the_findings(name, backend, reading):
    ports = [make_port(B_ID, 'vm-b-port', '192.168.1.12', [SSH_ID, DB_ID], pairs=['10.10.10.11/24'])]
    routes = network_routes(ports)
    routes[('GET', '/extensions')] = lambda params: {'extensions': _local_extensions(name)}
    plain = Cloud(Conn(network_routes(ports), SERVERS))
    info.audit(plain, info_params(port=B_ID), None, no_deprecation)
    cloud = Cloud(Conn(routes, SERVERS))
    entries, _summary, found = info.audit(cloud, info_params(port=B_ID, backend='auto'), None, no_deprecation)
    assert cloud.requests == plain.requests + 1
    assert found['backend'] == backend
    (item,) = entries[0]['findings']
    assert (item['code'], item['backend']) == ('PAIR_HOST_BITS', backend)
    assert reading in item['detail']


def test_reachability_auto_backend_on_a_member_of_ml2_ovs():
    # The seed's Case 2 literal on B (10.10.10.11/24) plus A's own pair: B answers from
    # 10.10.10.12, which B's pair covers only under ML2/OVS - the two ML2/OVS drivers agree.
    ports = [make_port(A_ID, 'vm-a-port', '192.168.1.11', [SSH_ID], pairs=['10.10.10.11']),
             make_port(B_ID, 'vm-b-port', '192.168.1.12', [SSH_ID, DB_ID], pairs=['10.10.10.11/24'])]
    conn_routes = network_routes(ports)
    conn_routes[('GET', '/extensions')] = lambda params: {'extensions': _local_extensions('ovs')}
    cloud = Cloud(Conn(conn_routes))
    [result], found = reach.explain(cloud, reach_params(backend='auto'))
    assert (found['backend'], found['candidates'], found['requests']) == ('unknown', ['ovs', 'iptables_hybrid'], 1)
    assert sorted(result['backends']) == ['iptables_hybrid', 'ovs']
    # A may send from its pair, the DB group admits 10.10.10.11/32 on tcp/5432, and B's reply
    # from 10.10.10.12 is inside its pair's /24 (ML2/OVS masks it): allowed on both drivers.
    assert (result['verdict'], result['reachable']) == ('allowed', True)
    assert result['backend'] == 'unknown'
