# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The traffic model against hand-derived verdicts.

Every expected verdict below was worked out by hand from the Neutron/OVN source
named in the comment next to it, never by running the model. Sources:
- ovn-nb(5), Logical_Switch_Port.port_security: the port may send only from, and
  receive only to, its MAC+IPs; "A masked address, if the host part is zero,
  indicates that the host is allowed to use any address in the subnet; if the
  host part is nonzero, the mask simply indicates the size of the subnet."
- neutron ovn mech driver (ovn_client.py, _get_port_options): port_security holds
  the port MAC with its fixed IPs plus every allowed address pair; a port with
  port security off gets no port_security and the "unknown" address.
- neutron neutron/common/ovn/acl.py: a rule becomes an ACL; ingress matches
  outport/ip4.src, egress inport/ip4.dst; remote_ip_prefix is normalised to its
  network; tcp/udp port_range_min..max on the destination port; icmp
  port_range_min = type, port_range_max = code; remote_group_id matches the
  address set $pg_<id>_ip4; rules are allow-related (stateful); a port with port
  security and no group is in neutron_pg_drop (drop all IP).
- neutron agent/linux/openvswitch_firewall/firewall.py (ML2/OVS): pairs are
  netaddr.IPNetwork (10.10.10.11/24 = the whole /24), filtered on what the port
  sends; delivery to a port is by destination MAC, no destination IP filter.
- neutron db/securitygroups_rpc_base.py (ML2/OVS): a remote group's member IPs
  include the members' allowed address pairs.
- Stateless groups (stateful: false, neutron api-ref "Stateful security groups"):
  no conntrack, so replies need explicit rules - under OVN and iptables_hybrid
  (agent/linux/iptables_firewall.py _get_jump_rules: -j CT --notrack). The
  openvswitch firewall driver never reads the flag (no "stateful" in its
  firewall.py) and tracks every connection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.portsec.openstack.plugins.module_utils import reachability as model
from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError

MAC_A = 'fa:16:3e:00:00:0a'
MAC_B = 'fa:16:3e:00:00:0b'
NET = 'net-project'
DB_NET = 'net-db'


def egress_defaults(group_id):
    """The two egress rules every new group gets (allow all IPv4 and IPv6)."""
    return [
        {'id': '%s-eg4' % group_id, 'direction': 'egress', 'ethertype': 'IPv4', 'protocol': None,
         'port_range_min': None, 'port_range_max': None, 'remote_ip_prefix': None,
         'remote_group_id': None},
        {'id': '%s-eg6' % group_id, 'direction': 'egress', 'ethertype': 'IPv6', 'protocol': None,
         'port_range_min': None, 'port_range_max': None, 'remote_ip_prefix': None,
         'remote_group_id': None},
    ]


def rule(rule_id, direction='ingress', protocol='tcp', low=None, high=None, prefix=None,
         remote_group=None, ethertype='IPv4', address_group=None):
    return {'id': rule_id, 'direction': direction, 'ethertype': ethertype, 'protocol': protocol,
            'port_range_min': low, 'port_range_max': high, 'remote_ip_prefix': prefix,
            'remote_group_id': remote_group, 'remote_address_group_id': address_group}


def group(group_id, rules, stateful=True, defaults=True):
    return {'id': group_id, 'name': group_id, 'stateful': stateful,
            'security_group_rules': (egress_defaults(group_id) if defaults else []) + rules}


def port(port_id, ip, mac, groups=('ssh',), pairs=(), enabled=True, network=NET, name=None):
    ips = [ip] if isinstance(ip, str) else list(ip)
    return {
        'id': port_id, 'name': name or port_id, 'network_id': network, 'mac_address': mac,
        'fixed_ips': [{'ip_address': item, 'subnet_id': 'subnet-%s' % network} for item in ips],
        'port_security_enabled': enabled,
        'security_groups': list(groups) if enabled else [],
        'allowed_address_pairs': [dict(p) if isinstance(p, dict) else {'ip_address': p}
                                  for p in pairs],
    }


# The seed's groups (issue 6 topology): ssh from the world, http on A, the DB group
# on B admitting tcp/5432 from A's DB address.
SSH = group('ssh', [rule('ssh-22', low=22, high=22, prefix='0.0.0.0/0')])
HTTP = group('http', [rule('http-80', low=80, high=80, prefix='0.0.0.0/0')])
DB = group('db', [rule('db-5432', low=5432, high=5432, prefix='10.10.10.11/32')])
DB_SUBNET = group('db', [rule('db-5432', low=5432, high=5432, prefix='10.10.10.0/24')])
GROUPS = [SSH, HTTP, DB]


def case1_ports(a_pairs=(), b_enabled=True, a_enabled=True, b_pairs=()):
    """Case 1/2: one port per VM on 192.168.1.0/24; the guests add 10.10.10.x by hand."""
    return [
        port('port-a', '192.168.1.11', MAC_A, groups=('ssh', 'http'), pairs=a_pairs,
             enabled=a_enabled),
        port('port-b', '192.168.1.12', MAC_B, groups=('ssh', 'db'), pairs=b_pairs,
             enabled=b_enabled),
    ]


def case3_ports(b_db_enabled):
    """Case 3: a second port per VM on the DB network 10.10.10.0/24."""
    return [
        port('port-a1', '192.168.1.11', MAC_A, groups=('ssh', 'http')),
        port('port-a2', '10.10.10.11', 'fa:16:3e:00:01:0a', groups=('ssh',), network=DB_NET),
        port('port-b1', '192.168.1.12', MAC_B, groups=('ssh',)),
        port('port-b2', '10.10.10.12', 'fa:16:3e:00:01:0b', groups=('ssh', 'db'),
             enabled=b_db_enabled, network=DB_NET),
    ]


def flow(src='port-a', dst='port-b', src_ip='10.10.10.11', dst_ip='10.10.10.12',
         protocol='tcp', number=5432, **extra):
    result = {'source_port': src, 'destination_port': dst, 'source_ip': src_ip,
              'destination_ip': dst_ip, 'protocol': protocol, 'port': number}
    result.update(extra)
    return result


def run(the_flow, ports, groups=None, backend='ovn', **kwargs):
    return model.evaluate(the_flow, ports, GROUPS if groups is None else groups,
                          backend=backend, **kwargs)


def check(result, stage):
    matches = [item for item in result['checks'] if item['stage'] == stage]
    assert len(matches) == 1
    return matches[0]


# -- the seed Cases: the verdict table of issue 7 ------------------------------------

SEED_TABLE = [
    # 1, as built: A's guest sends from 10.10.10.11, which is neither a fixed IP nor
    # a pair of port A -> dropped by A's port_security on the inport (ovn-nb(5)).
    ('case1-as-built', case1_ports(), flow(), GROUPS,
     'blocked', 'source_anti_spoofing', 'port-a'),
    # 1, the seed's step only (port security off on B): B is unfiltered, but A's own
    # port_security still drops packets from 10.10.10.11 (ovn-nb(5), inport check).
    ('case1-seed-step', case1_ports(b_enabled=False), flow(), GROUPS,
     'blocked', 'source_anti_spoofing', 'port-a'),
    # 1, completed on A with a pair: 10.10.10.11 is a host pair of A (allowed out);
    # A's groups have the default egress allow-all; B is unfiltered; the reply to
    # 10.10.10.11 is inside A's port_security and allow-related admits it (acl.py).
    ('case1-completed-pair', case1_ports(a_pairs=['10.10.10.11'], b_enabled=False), flow(),
     GROUPS, 'allowed', None, None),
    # 1, completed with A unfiltered too: no port_security, no ACLs on either port.
    ('case1-completed-unfiltered', case1_ports(a_enabled=False, b_enabled=False), flow(),
     GROUPS, 'allowed', None, None),
    # 2, the seed's literal command (pair 10.10.10.11/24 on B only): A has no pair,
    # so A's inport port_security drops 10.10.10.11 first (ovn-nb(5)).
    ('case2-literal', case1_ports(b_pairs=['10.10.10.11/24']), flow(), GROUPS,
     'blocked', 'source_anti_spoofing', 'port-a'),
    # 2, done right: A pair 10.10.10.11, B pair 10.10.10.12 (host pairs, ovn-nb(5));
    # default egress on A; DB group admits tcp/5432 from 10.10.10.11/32 (acl.py
    # ip4.src == 10.10.10.11/32 && tcp.dst == 5432); stateful reply.
    ('case2-done-right', case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12']),
     flow(), GROUPS, 'allowed', None, None),
    # 3, B's DB port unfiltered: A2 sends from its fixed IP; ssh group's default
    # egress admits it; B2 has no port_security and no ACLs.
    ('case3-unfiltered', case3_ports(b_db_enabled=False),
     flow(src='port-a2', dst='port-b2'), GROUPS, 'allowed', None, None),
    # 3, secure variant: fixed IPs on both ends; DB group admits tcp/5432 from
    # 10.10.10.0/24 (acl.py ip4.src == 10.10.10.0/24 && tcp.dst == 5432).
    ('case3-secure-db', case3_ports(b_db_enabled=True),
     flow(src='port-a2', dst='port-b2'), [SSH, HTTP, DB_SUBNET], 'allowed', None, None),
    # 3, secure variant, ping: no ingress rule of ssh or db matches icmp4 -> the
    # to-lport ACLs of B2's groups drop it (acl.py; only allow rules exist).
    ('case3-secure-icmp', case3_ports(b_db_enabled=True),
     flow(src='port-a2', dst='port-b2', protocol='icmp', number=None), [SSH, HTTP, DB_SUBNET],
     'blocked', 'destination_ingress_groups', 'port-b2'),
]


@pytest.mark.parametrize('name, ports, the_flow, groups, verdict, stage, blocked_port',
                         SEED_TABLE, ids=[row[0] for row in SEED_TABLE])
def test_seed_cases(name, ports, the_flow, groups, verdict, stage, blocked_port):
    result = run(the_flow, ports, groups)
    assert result['verdict'] == verdict, model.summary(result)
    assert result['reachable'] is (verdict == 'allowed')
    if stage is None:
        assert result['blocked_by'] is None
        assert all(item['result'] in ('pass', 'skip') for item in result['checks'])
    else:
        assert result['blocked_by']['stage'] == stage
        assert result['blocked_by']['port']['id'] == blocked_port


def test_seed_case2_literal_command_under_ovn():
    # `openstack port set <PORT-B> --allowed-address ip-address=10.10.10.11/24`:
    # under OVN the /24 with host bits is 10.10.10.11 alone (ovn-nb(5)), so B may
    # neither receive to 10.10.10.12 (outport check) nor answer from it (inport).
    result = run(flow(), case1_ports(b_pairs=['10.10.10.11/24']))
    assert result['verdict'] == 'blocked'
    assert check(result, 'source_anti_spoofing')['code'] == 'SRC_IP_NOT_AUTHORISED'
    assert check(result, 'destination_port_security')['code'] == 'DST_PAIR_HOST_BITS'
    reply = check(result, 'reply_path')
    assert reply['result'] == 'fail'
    assert reply['code'] == 'REPLY_SRC_PAIR_HOST_BITS'
    assert reply['port']['id'] == 'port-b'
    # The DB group itself admits 10.10.10.11 (acl.py ip4.src == 10.10.10.11/32).
    assert check(result, 'destination_ingress_groups')['result'] == 'pass'


def test_seed_case2_literal_command_under_ovs():
    # ML2/OVS reads 10.10.10.11/24 as the whole /24 (firewall.py, netaddr.IPNetwork),
    # so B may answer from .12, and the OVS firewall does not filter B's destination
    # IP; A is still unfiltered for 10.10.10.11 -> blocked at A.
    result = run(flow(), case1_ports(b_pairs=['10.10.10.11/24']), backend='ovs')
    assert result['verdict'] == 'blocked'
    assert result['blocked_by']['stage'] == 'source_anti_spoofing'
    assert result['blocked_by']['port']['id'] == 'port-a'
    assert check(result, 'destination_port_security')['code'] == 'DST_NOT_FILTERED_OVS'
    assert check(result, 'reply_path')['result'] == 'pass'


def test_seed_case2_literal_command_suggests_pair_on_a():
    result = run(flow(), case1_ports(b_pairs=['10.10.10.11/24']))
    first = result['suggestions'][0]
    assert first['task']['portsec.openstack.allowed_address_pair'] == {
        'port': 'port-a', 'pairs': [{'ip_address': '10.10.10.11'}], 'state': 'present'}
    texts = [item['text'] for item in result['suggestions']]
    assert any('10.10.10.12 to port port-b' in text for text in texts)


def test_case1_as_built_reports_every_stage():
    # All stages are evaluated, so the user sees every obstacle: A's inport drops
    # 10.10.10.11 and B's outport drops 10.10.10.12 (neither is in port_security,
    # ovn-nb(5)); the DB group would admit it; the reply would fail at both ends.
    result = run(flow(), case1_ports())
    assert [item['stage'] for item in result['checks']] == list(model.STAGES)
    assert [item['result'] for item in result['checks']] == ['fail', 'pass', 'fail', 'pass', 'fail']
    assert result['blocked_by'] == {'stage': 'source_anti_spoofing',
                                    'port': {'id': 'port-a', 'name': 'port-a'},
                                    'element': 'address 10.10.10.11',
                                    'code': 'SRC_IP_NOT_AUTHORISED'}


@pytest.mark.parametrize('protocol, number, verdict, stage', [
    # ssh group admits tcp/22 from 0.0.0.0/0, but A's anti-spoofing drops first.
    ('tcp', 22, 'blocked', 'source_anti_spoofing'),
    ('icmp', None, 'blocked', 'source_anti_spoofing'),
])
def test_case1_seed_step_other_flows(protocol, number, verdict, stage):
    result = run(flow(protocol=protocol, number=number), case1_ports(b_enabled=False))
    assert result['verdict'] == verdict
    assert result['blocked_by']['stage'] == stage


def test_case2_done_right_ssh_and_icmp():
    ports = case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12'])
    # ssh group: tcp/22 from 0.0.0.0/0 (acl.py) -> allowed.
    assert run(flow(protocol='tcp', number=22), ports)['verdict'] == 'allowed'
    # No icmp rule on B's groups (ssh, db) -> B's to-lport ACLs drop it.
    result = run(flow(protocol='icmp', number=None), ports)
    assert result['verdict'] == 'blocked'
    assert result['blocked_by']['stage'] == 'destination_ingress_groups'


def test_case2_done_right_reverse_direction_db_group_from_b():
    # B -> A on tcp/80: A's http group admits it from anywhere; both pairs let each
    # guest use its own 10.10.10.x (ovn-nb(5)).
    ports = case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12'])
    result = run(flow(src='port-b', dst='port-a', src_ip='10.10.10.12', dst_ip='10.10.10.11',
                      number=80), ports)
    assert result['verdict'] == 'allowed'


# -- stage 1: source anti-spoofing -----------------------------------------------------

@pytest.mark.parametrize('pairs, src_ip, backend, result, code', [
    # A fixed IP is in port_security (ovn_client.py).
    ((), '192.168.1.11', 'ovn', 'pass', 'SRC_IP_FIXED'),
    # Host pair, bare and /32 (ovn-nb(5): an address without mask is that address).
    (('10.10.10.11',), '10.10.10.11', 'ovn', 'pass', 'SRC_IP_IN_PAIR'),
    (('10.10.10.11/32',), '10.10.10.11', 'ovn', 'pass', 'SRC_IP_IN_PAIR'),
    # Zero host bits: any address of the subnet (ovn-nb(5)).
    (('10.10.10.0/24',), '10.10.10.99', 'ovn', 'pass', 'SRC_IP_IN_PAIR'),
    (('10.10.10.0/24',), '10.10.11.1', 'ovn', 'fail', 'SRC_IP_NOT_AUTHORISED'),
    # Host bits: only that address under OVN (ovn-nb(5)) ...
    (('10.10.10.11/24',), '10.10.10.11', 'ovn', 'pass', 'SRC_IP_IN_PAIR'),
    (('10.10.10.11/24',), '10.10.10.12', 'ovn', 'fail', 'SRC_PAIR_HOST_BITS'),
    # ... the whole network under ML2/OVS (firewall.py netaddr.IPNetwork).
    (('10.10.10.11/24',), '10.10.10.12', 'ovs', 'pass', 'SRC_IP_IN_PAIR'),
    (('10.10.10.0/24',), '10.10.10.12', 'ovs', 'pass', 'SRC_IP_IN_PAIR'),
    (('10.10.10.11/24',), '10.10.10.12', 'iptables_hybrid', 'pass', 'SRC_IP_IN_PAIR'),
    # Anti-spoofing off with 0.0.0.0/0 (zero host bits, every address).
    (('0.0.0.0/0',), '203.0.113.9', 'ovn', 'pass', 'SRC_IP_IN_PAIR'),
    # Nothing authorises it.
    ((), '10.10.10.11', 'ovn', 'fail', 'SRC_IP_NOT_AUTHORISED'),
    ((), '10.10.10.11', 'ovs', 'fail', 'SRC_IP_NOT_AUTHORISED'),
    ((), '10.10.10.11', 'iptables_hybrid', 'fail', 'SRC_IP_NOT_AUTHORISED'),
    # A pair with another MAC authorises (that MAC, that IP) only: the guest sending
    # from the port MAC is dropped (port_security entry "MAC IP", ovn-nb(5)).
    (({'ip_address': '10.10.10.11', 'mac_address': 'fa:16:3e:99:99:99'},), '10.10.10.11',
     'ovn', 'fail', 'SRC_IP_NOT_AUTHORISED'),
    # Pair with the port's own MAC written out, upper case: same as no MAC.
    (({'ip_address': '10.10.10.11', 'mac_address': MAC_A.upper()},), '10.10.10.11',
     'ovn', 'pass', 'SRC_IP_IN_PAIR'),
])
def test_source_anti_spoofing(pairs, src_ip, backend, result, code):
    ports = case1_ports(a_pairs=pairs, b_enabled=False)
    got = check(run(flow(src_ip=src_ip, dst_ip='192.168.1.12'), ports, backend=backend),
                'source_anti_spoofing')
    assert (got['result'], got['code']) == (result, code)


def test_source_anti_spoofing_other_mac():
    # Sending from a MAC that a pair names, with the pair's IP: allowed ("MAC IP"
    # entry of port_security, ovn-nb(5)); from that MAC with the fixed IP: dropped.
    pairs = [{'ip_address': '10.10.10.11', 'mac_address': 'fa:16:3e:99:99:99'}]
    ports = case1_ports(a_pairs=pairs, b_enabled=False)
    good = run(flow(src_ip='10.10.10.11', dst_ip='192.168.1.12', source_mac='fa:16:3e:99:99:99'),
               ports)
    assert check(good, 'source_anti_spoofing')['result'] == 'pass'
    bad = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12', source_mac='fa:16:3e:99:99:99'),
              ports)
    assert check(bad, 'source_anti_spoofing')['code'] == 'SRC_MAC_NOT_AUTHORISED'


def test_a_neutron_without_port_security_filters_every_port():
    # No port-security extension: no port_security_enabled field, and ML2 filters the port
    # (plugins/ml2/plugin.py reads a missing value as on), so A's anti-spoofing still drops it.
    ports = case1_ports(b_enabled=False)
    del ports[0]['port_security_enabled']
    result = run(flow(src_ip='10.10.10.11', dst_ip='192.168.1.12'), ports)
    assert check(result, 'source_anti_spoofing')['code'] == 'SRC_IP_NOT_AUTHORISED'


def test_source_port_security_off_skips_both_directions():
    # No port_security and no ACL on port A (ovn_client.py: "unknown" address, port
    # not in any port group), so stages 1, 2 and its reply checks are skipped.
    ports = case1_ports(a_enabled=False, b_enabled=False)
    result = run(flow(src_ip='198.51.100.7'), ports)
    assert check(result, 'source_anti_spoofing')['code'] == 'SRC_PORT_SECURITY_DISABLED'
    assert check(result, 'source_egress_groups')['code'] == 'EGRESS_PORT_SECURITY_DISABLED'
    assert check(result, 'reply_path')['code'] == 'REPLY_UNFILTERED'
    assert result['verdict'] == 'allowed'


def test_ipv6_pair_any_textual_form():
    # 2001:db8::11 written long; OVN compares addresses, not text.
    a = port('port-a', ['192.168.1.11', '2001:db8::a'], MAC_A, groups=('ssh', 'http'),
             pairs=['2001:0db8:0000::0011'])
    b = port('port-b', ['192.168.1.12', '2001:db8::b'], MAC_B, groups=('ssh6',))
    ssh6 = group('ssh6', [rule('ssh6-22', low=22, high=22, prefix='::/0', ethertype='IPv6')])
    result = run(flow(src_ip='2001:db8::11', dst_ip='2001:db8::b', number=22), [a, b],
                 groups=[SSH, HTTP, ssh6])
    assert result['verdict'] == 'allowed'


# -- stage 2: source egress groups -----------------------------------------------------

def test_egress_no_groups_drops_everything():
    # Port security on, no group: neutron_pg_drop drops all IP (acl.py
    # add_acls_for_drop_port_group).
    ports = case1_ports(b_enabled=False)
    ports[0]['security_groups'] = []
    result = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12'), ports)
    assert result['blocked_by']['stage'] == 'source_egress_groups'
    assert result['blocked_by']['code'] == 'EGRESS_NO_GROUPS'
    task = result['suggestions'][0]['task']['portsec.openstack.port_security']
    assert task['security_groups_mode'] == 'add'
    # ... and the reply would be dropped on the way in, too.
    reply = check(result, 'reply_path')
    assert reply['code'] == 'REPLY_INGRESS_NO_GROUPS'


@pytest.mark.parametrize('egress_rules, verdict', [
    # No egress rule at all: the from-lport ACLs have nothing to allow (acl.py).
    ([], 'blocked'),
    # Egress only to 10.10.10.0/24 (acl.py ip4.dst == 10.10.10.0/24).
    ([rule('e1', 'egress', None, prefix='10.10.10.0/24')], 'blocked'),
    ([rule('e1', 'egress', None, prefix='192.168.1.0/24')], 'allowed'),
    # Egress tcp 5432 only vs the flow tcp 22.
    ([rule('e1', 'egress', 'tcp', 5432, 5432)], 'blocked'),
    ([rule('e1', 'egress', 'tcp', 1, 1024)], 'allowed'),
    # IPv6-only egress does not admit an IPv4 flow (acl.py match "&& ip6").
    ([rule('e1', 'egress', None, ethertype='IPv6')], 'blocked'),
])
def test_egress_rules(egress_rules, verdict):
    locked = group('locked', egress_rules, defaults=False)
    ports = case1_ports(b_enabled=False)
    ports[0]['security_groups'] = ['locked']
    result = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12', number=22), ports,
                 groups=GROUPS + [locked])
    assert result['verdict'] == verdict
    if verdict == 'blocked':
        assert result['blocked_by']['code'] == 'EGRESS_NO_MATCHING_RULE'
        task = result['suggestions'][0]['task']['openstack.cloud.security_group_rule']
        assert task == {'security_group': 'locked', 'direction': 'egress', 'ethertype': 'IPv4',
                        'protocol': 'tcp', 'port_range_min': 22, 'port_range_max': 22,
                        'remote_ip_prefix': '192.168.1.12/32'}


def test_group_not_visible_is_unknown():
    # A group we could not read may hold the rule: the model cannot say.
    ports = case1_ports(b_enabled=False)
    ports[0]['security_groups'] = ['hidden']
    result = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12', number=22), ports)
    assert check(result, 'source_egress_groups')['code'] == 'EGRESS_GROUP_NOT_VISIBLE'
    assert result['verdict'] == 'unknown'


# -- stage 3: destination port security -------------------------------------------------

@pytest.mark.parametrize('pairs, dst_ip, backend, result, code', [
    ((), '192.168.1.12', 'ovn', 'pass', 'DST_IP_FIXED'),
    (('10.10.10.12',), '10.10.10.12', 'ovn', 'pass', 'DST_IP_IN_PAIR'),
    (('10.10.10.0/24',), '10.10.10.12', 'ovn', 'pass', 'DST_IP_IN_PAIR'),
    # OVN checks the outport's port_security too (ovn-nb(5): both directions).
    ((), '10.10.10.12', 'ovn', 'fail', 'DST_IP_NOT_AUTHORISED'),
    (('10.10.10.11/24',), '10.10.10.12', 'ovn', 'fail', 'DST_PAIR_HOST_BITS'),
    # ML2/OVS delivers by MAC without a destination IP check (firewall.py).
    ((), '10.10.10.12', 'ovs', 'pass', 'DST_NOT_FILTERED_OVS'),
    ((), '10.10.10.12', 'iptables_hybrid', 'pass', 'DST_NOT_FILTERED_OVS'),
])
def test_destination_port_security(pairs, dst_ip, backend, result, code):
    ports = case1_ports(a_enabled=False, b_pairs=pairs)
    got = check(run(flow(src_ip='192.168.1.11', dst_ip=dst_ip, number=22), ports,
                    backend=backend), 'destination_port_security')
    assert (got['result'], got['code']) == (result, code)


def test_destination_port_security_off_skips():
    ports = case1_ports(a_enabled=False, b_enabled=False)
    got = check(run(flow(src_ip='192.168.1.11', dst_ip='10.10.10.99'), ports),
                'destination_port_security')
    assert (got['result'], got['code']) == ('skip', 'DST_PORT_SECURITY_DISABLED')


# -- stage 4: destination ingress groups -----------------------------------------------

@pytest.mark.parametrize('rules, protocol, number, verdict', [
    # tcp.dst == 5432 (acl.py, min == max).
    ([rule('r', low=5432, high=5432)], 'tcp', 5432, 'allowed'),
    ([rule('r', low=5432, high=5432)], 'tcp', 5433, 'blocked'),
    # tcp.dst >= 5000 && tcp.dst <= 6000.
    ([rule('r', low=5000, high=6000)], 'tcp', 5432, 'allowed'),
    ([rule('r', low=5000, high=6000)], 'tcp', 6001, 'blocked'),
    # tcp without ports: any tcp port.
    ([rule('r')], 'tcp', 9, 'allowed'),
    # Protocol by number: 6 is tcp, 17 is udp (acl.py _get_protocol_number).
    ([rule('r', protocol='6', low=5432, high=5432)], 'tcp', 5432, 'allowed'),
    ([rule('r', protocol='17', low=5432, high=5432)], 'tcp', 5432, 'blocked'),
    ([rule('r', protocol='udp', low=53, high=53)], 'udp', 53, 'allowed'),
    # icmp: port_range_min is the type, max the code (acl.py); a ping is type 8 code 0.
    ([rule('r', protocol='icmp')], 'icmp', None, 'allowed'),
    ([rule('r', protocol='icmp', low=8, high=0)], 'icmp', None, 'allowed'),
    ([rule('r', protocol='icmp', low=0)], 'icmp', None, 'blocked'),
    ([rule('r', protocol='1')], 'icmp', None, 'allowed'),
    # No protocol: all traffic (acl.py adds no protocol match).
    ([rule('r', protocol=None)], 'icmp', None, 'allowed'),
    ([rule('r', protocol=None)], 'any', None, 'allowed'),
    # "any" traffic is not admitted by a tcp-only rule.
    ([rule('r')], 'any', None, 'blocked'),
    # Ethertype IPv6 rule vs an IPv4 flow (acl.py "&& ip6").
    ([rule('r', ethertype='IPv6')], 'tcp', 5432, 'blocked'),
    # An unusual protocol (gre, 47) never matches tcp.
    ([rule('r', protocol='47')], 'tcp', 5432, 'blocked'),
    # An egress rule never admits ingress.
    ([rule('r', direction='egress')], 'tcp', 5432, 'blocked'),
])
def test_ingress_protocols_and_ports(rules, protocol, number, verdict):
    target = group('target', rules, defaults=False)
    ports = case1_ports(a_enabled=False)
    ports[1]['security_groups'] = ['target']
    result = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12', protocol=protocol,
                      number=number), ports, groups=GROUPS + [target])
    assert result['verdict'] == verdict
    if verdict == 'blocked':
        assert result['blocked_by']['stage'] == 'destination_ingress_groups'
        assert result['blocked_by']['code'] == 'INGRESS_NO_MATCHING_RULE'


@pytest.mark.parametrize('prefix, src_ip, verdict', [
    ('192.168.1.11/32', '192.168.1.11', 'allowed'),
    ('192.168.1.0/24', '192.168.1.11', 'allowed'),
    # acl.py normalises 192.168.1.77/24 to 192.168.1.0/24 (whole subnet).
    ('192.168.1.77/24', '192.168.1.11', 'allowed'),
    ('192.168.2.0/24', '192.168.1.11', 'blocked'),
    ('0.0.0.0/0', '192.168.1.11', 'allowed'),
    ('::/0', '192.168.1.11', 'blocked'),
])
def test_ingress_remote_ip_prefix(prefix, src_ip, verdict):
    target = group('target', [rule('r', low=22, high=22, prefix=prefix,
                                   ethertype='IPv6' if ':' in prefix else 'IPv4')],
                   defaults=False)
    ports = case1_ports(a_enabled=False)
    ports[1]['security_groups'] = ['target']
    result = run(flow(src_ip=src_ip, dst_ip='192.168.1.12', number=22), ports,
                 groups=GROUPS + [target])
    assert result['verdict'] == verdict


def _remote_group_setup(a_pairs, a_groups=('web',)):
    web = group('web', [])
    dbr = group('dbr', [rule('from-web', low=5432, high=5432, remote_group='web')])
    ports = [
        port('port-a', '192.168.1.11', MAC_A, groups=a_groups, pairs=a_pairs),
        port('port-b', '192.168.1.12', MAC_B, groups=('dbr',), pairs=['10.10.10.12']),
    ]
    return ports, [web, dbr]


def test_remote_group_fixed_ip_member():
    # A is in group web, so 192.168.1.11 is in $pg_web_ip4 (acl.py acl_remote_group_id:
    # the port group's address set holds the members' addresses).
    ports, groups = _remote_group_setup(())
    result = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12'), ports, groups=groups)
    assert result['verdict'] == 'allowed'
    assert check(result, 'destination_ingress_groups')['code'] == 'INGRESS_RULE_MATCH'


def test_remote_group_not_member():
    ports, groups = _remote_group_setup((), a_groups=('ssh',))
    result = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12'), ports,
                 groups=groups + [SSH])
    assert result['verdict'] == 'blocked'
    assert result['blocked_by']['stage'] == 'destination_ingress_groups'


def test_remote_group_pair_member_ovs_counts():
    # ML2/OVS: members' pairs are member IPs (securitygroups_rpc_base.py).
    ports, groups = _remote_group_setup(('10.10.10.11',))
    result = run(flow(), ports, groups=groups, backend='ovs')
    assert result['verdict'] == 'allowed'


def test_remote_group_pair_member_ovn_is_not_a_member():
    # OVN matches $pg_<id>_ip4, filled from the members' fixed IPs only: a pair address is
    # not a member (measured with packets by the dataplane_matrix target).
    ports, groups = _remote_group_setup(('10.10.10.11',))
    result = run(flow(), ports, groups=groups)
    assert result['verdict'] == 'blocked'
    assert result['reachable'] is False
    got = check(result, 'destination_ingress_groups')
    assert (got['result'], got['code']) == ('fail', 'INGRESS_REMOTE_GROUP_PAIR_NOT_MEMBER')
    assert 'only through an allowed address pair' in got['detail']
    assert result['blocked_by']['code'] == 'INGRESS_REMOTE_GROUP_PAIR_NOT_MEMBER'
    # The suggestion admits the pair's address with a prefix rule.
    rule_task = result['suggestions'][0]['task']['openstack.cloud.security_group_rule']
    assert rule_task['remote_ip_prefix'] == '10.10.10.11/32'


def test_remote_group_prefix_pair_member_ovn_is_not_a_member():
    ports, groups = _remote_group_setup(('10.10.10.0/24',))
    result = run(flow(), ports, groups=groups)
    assert check(result, 'destination_ingress_groups')['code'] == 'INGRESS_REMOTE_GROUP_PAIR_NOT_MEMBER'


def test_remote_group_pair_does_not_matter_when_another_rule_admits():
    # A prefix rule admits it anyway.
    ports, groups = _remote_group_setup(('10.10.10.11',))
    groups[1]['security_group_rules'].append(rule('from-db-net', low=5432, high=5432,
                                                  prefix='10.10.10.0/24'))
    result = run(flow(), ports, groups=groups)
    assert result['verdict'] == 'allowed'
    assert check(result, 'destination_ingress_groups')['code'] == 'INGRESS_RULE_MATCH'


def test_remote_group_pair_blocked_first_elsewhere():
    # B's own port security drops it before its groups are looked at.
    ports, groups = _remote_group_setup(('10.10.10.11',))
    ports[1]['allowed_address_pairs'] = []
    result = run(flow(), ports, groups=groups)
    assert result['verdict'] == 'blocked'
    assert result['blocked_by']['stage'] == 'destination_port_security'


@pytest.mark.parametrize('addresses, verdict', [
    (['10.10.10.0/28'], 'allowed'),
    (['10.10.20.0/24', '10.10.10.11/32'], 'allowed'),
    (['10.10.20.0/24'], 'blocked'),
])
def test_remote_address_group(addresses, verdict):
    target = group('target', [rule('r', low=5432, high=5432, address_group='ag')],
                   defaults=False)
    ports = case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12'])
    ports[1]['security_groups'] = ['target']
    result = run(flow(), ports, groups=GROUPS + [target],
                 address_groups=[{'id': 'ag', 'addresses': addresses}])
    assert result['verdict'] == verdict


def test_remote_address_group_not_visible_is_unknown():
    target = group('target', [rule('r', low=5432, high=5432, address_group='ag')],
                   defaults=False)
    ports = case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12'])
    ports[1]['security_groups'] = ['target']
    result = run(flow(), ports, groups=GROUPS + [target])
    assert result['verdict'] == 'unknown'
    assert check(result, 'destination_ingress_groups')['code'] == \
        'INGRESS_REMOTE_ADDRESS_GROUP_UNKNOWN'


def test_destination_no_groups():
    ports = case1_ports(a_enabled=False)
    ports[1]['security_groups'] = []
    result = run(flow(src_ip='192.168.1.11', dst_ip='192.168.1.12', number=22), ports)
    assert result['blocked_by']['code'] == 'INGRESS_NO_GROUPS'
    assert result['blocked_by']['port']['id'] == 'port-b'


# -- stage 5: reply path -----------------------------------------------------------------

def _stateless(ingress_rules, egress_rules):
    return group('sl', ingress_rules + egress_rules, stateful=False, defaults=False)


def _stateless_ports(a_stateless=False):
    ports = case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12'])
    ports[1]['security_groups'] = ['sl']
    if a_stateless:
        ports[0]['security_groups'] = ['sla']
    return ports


@pytest.mark.parametrize('egress_rules, verdict, code', [
    # No egress rule on the stateless group: B's answer is dropped (no conntrack).
    ([], 'blocked', 'REPLY_EGRESS_STATELESS_NO_RULE'),
    # Egress to A's address on any port: the answer to the ephemeral port passes.
    ([rule('e', 'egress', 'tcp', prefix='10.10.10.11/32')], 'allowed', 'REPLY_ALLOWED'),
    # Egress allow-all (the default rules, kept on a stateless group).
    (egress_defaults('sl'), 'allowed', 'REPLY_ALLOWED'),
    # Egress only to port 5432: the reply goes to A's ephemeral port, not 5432.
    ([rule('e', 'egress', 'tcp', 5432, 5432)], 'blocked', 'REPLY_EGRESS_STATELESS_NO_RULE'),
    # Egress covering 32768-60999 (Linux's ephemeral range).
    ([rule('e', 'egress', 'tcp', 32768, 60999)], 'allowed', 'REPLY_ALLOWED'),
])
def test_reply_stateless_destination(egress_rules, verdict, code):
    sl = _stateless([rule('in', low=5432, high=5432, prefix='10.10.10.11/32')], egress_rules)
    result = run(flow(), _stateless_ports(), groups=GROUPS + [sl])
    assert result['verdict'] == verdict
    reply = check(result, 'reply_path')
    assert reply['code'] == code
    if verdict == 'blocked':
        assert result['blocked_by']['stage'] == 'reply_path'
        assert result['blocked_by']['port']['id'] == 'port-b'
        assert 'EPHEMERAL_PORTS' in [item['code'] for item in result['assumptions']]


@pytest.mark.parametrize('a_ingress, verdict', [
    # A is stateless too: the reply from 10.10.10.12 needs an ingress rule on A.
    ([], 'blocked'),
    ([rule('ain', protocol='tcp', prefix='10.10.10.12/32')], 'allowed'),
])
def test_reply_stateless_source(a_ingress, verdict):
    sl = _stateless([rule('in', low=5432, high=5432)], egress_defaults('sl'))
    sla = _stateless(a_ingress, egress_defaults('sla'))
    sla['id'] = sla['name'] = 'sla'
    result = run(flow(), _stateless_ports(a_stateless=True), groups=GROUPS + [sl, sla])
    assert result['verdict'] == verdict
    if verdict == 'blocked':
        assert check(result, 'reply_path')['code'] == 'REPLY_INGRESS_STATELESS_NO_RULE'
        assert result['blocked_by']['port']['id'] == 'port-a'


def test_reply_stateless_icmp_echo_reply():
    # Stateless ping: echo reply (type 0) must be admitted on the way back.
    sl = _stateless([rule('in', protocol='icmp')],
                    [rule('out', 'egress', 'icmp', 8, 0)])
    result = run(flow(protocol='icmp', number=None), _stateless_ports(), groups=GROUPS + [sl])
    assert result['verdict'] == 'blocked'
    sl_ok = _stateless([rule('in', protocol='icmp')], [rule('out', 'egress', 'icmp', 0, 0)])
    assert run(flow(protocol='icmp', number=None), _stateless_ports(),
               groups=GROUPS + [sl_ok])['verdict'] == 'allowed'


def test_reply_destination_on_source_port():
    # A may send from 10.10.10.0/28 ... but only with a pair. Give A's address as a
    # zero-host-bits pair: replies to it pass A's outport (ovn-nb(5)).
    ports = case1_ports(a_pairs=['10.10.10.0/28'], b_enabled=False)
    result = run(flow(), ports)
    assert result['verdict'] == 'allowed'
    sub_codes = [sub['code'] for sub in check(result, 'reply_path')['subchecks']]
    assert sub_codes == ['REPLY_SRC_PORT_SECURITY_DISABLED', 'REPLY_EGRESS_PORT_SECURITY_DISABLED',
                         'REPLY_INGRESS_STATEFUL', 'REPLY_DST_IP_IN_PAIR']


def test_reply_source_ip_with_ovs_and_source_unfiltered():
    # Source port unfiltered, destination uses a host-bits pair: under ML2/OVS its
    # answer from .12 passes (whole /24), under OVN it is dropped (ovn-nb(5)).
    ports = case1_ports(a_enabled=False, b_pairs=['10.10.10.11/24'])
    assert run(flow(number=22), ports, backend='ovs')['verdict'] == 'allowed'
    ovn = run(flow(number=22), ports)
    assert ovn['verdict'] == 'blocked'
    assert ovn['blocked_by']['stage'] == 'destination_port_security'
    assert check(ovn, 'reply_path')['code'] == 'REPLY_SRC_PAIR_HOST_BITS'


# -- backends: ovn, ovs (openvswitch firewall driver), iptables_hybrid ------------------------
# Each difference between the backends, on all three. Sources: ovn-nb(5) port_security for OVN;
# neutron agent/linux/openvswitch_firewall/firewall.py (ovs), agent/linux/iptables_firewall.py
# (iptables_hybrid) and db/securitygroups_rpc_base.py (both ML2/OVS drivers).

ML2_OVS = ('ovs', 'iptables_hybrid')


@pytest.mark.parametrize('backend, result, code', [
    # OVN: 10.10.10.99/24 has host bits, so it is 10.10.10.99 alone (ovn-nb(5)).
    ('ovn', 'fail', 'SRC_PAIR_HOST_BITS'),
    # ML2/OVS: the pair is the network 10.10.10.0/24 (openvswitch: nw_src masked; iptables_hybrid:
    # -s 10.10.10.99/24, which iptables masks), so .11 may be sent from.
    ('ovs', 'pass', 'SRC_IP_IN_PAIR'),
    ('iptables_hybrid', 'pass', 'SRC_IP_IN_PAIR'),
])
def test_backends_pair_with_host_bits(backend, result, code):
    ports = case1_ports(a_pairs=['10.10.10.99/24'], b_pairs=['10.10.10.12'])
    got = run(flow(), ports, backend=backend)
    assert (check(got, 'source_anti_spoofing')['result'], check(got, 'source_anti_spoofing')['code']) == (result, code)
    # B's own pair covers .12 and the DB group admits 10.10.10.11/32: only A's side decides.
    assert got['verdict'] == ('blocked' if result == 'fail' else 'allowed')


@pytest.mark.parametrize('backend', ML2_OVS)
def test_ml2_ovs_pair_with_host_bits_as_network_ipv6(backend):
    # fd00:10::99/64 is the whole fd00:10::/64 under both ML2/OVS drivers (ipv6_src masked,
    # ip6tables -s): it covers fd00:10::11; under OVN it is fd00:10::99 alone.
    a = port('port-a', ['192.168.1.11', 'fd00:77::11'], MAC_A, groups=('ssh',), pairs=['fd00:10::99/64'])
    b = port('port-b', ['192.168.1.12', 'fd00:77::12'], MAC_B, groups=('ssh',))
    the_flow = flow(src_ip='fd00:10::11', dst_ip='fd00:77::12', number=22)
    assert check(run(the_flow, [a, b], backend=backend), 'source_anti_spoofing')['code'] == 'SRC_IP_IN_PAIR'
    assert check(run(the_flow, [a, b]), 'source_anti_spoofing')['code'] == 'SRC_PAIR_HOST_BITS'


@pytest.mark.parametrize('backend, destination, stage, code', [
    # OVN checks B's port_security on what B receives: 10.10.10.12 is not B's.
    ('ovn', ('fail', 'DST_IP_NOT_AUTHORISED'), 'destination_port_security', 'DST_IP_NOT_AUTHORISED'),
    # ML2/OVS delivers by MAC, no destination check; B answers from 10.10.10.12, which B's
    # anti-spoofing (IP and ARP) does not let it send from: the reply is dropped.
    ('ovs', ('pass', 'DST_NOT_FILTERED_OVS'), 'reply_path', 'REPLY_SRC_IP_NOT_AUTHORISED'),
    ('iptables_hybrid', ('pass', 'DST_NOT_FILTERED_OVS'), 'reply_path', 'REPLY_SRC_IP_NOT_AUTHORISED'),
])
def test_backends_destination_ip_check(backend, destination, stage, code):
    result = run(flow(), case1_ports(a_pairs=['10.10.10.11']), backend=backend)
    got = check(result, 'destination_port_security')
    assert (got['result'], got['code']) == destination
    assert result['verdict'] == 'blocked'
    assert result['blocked_by']['stage'] == stage
    assert result['blocked_by']['code'] == code
    assert result['blocked_by']['port']['id'] == 'port-b'
    # Either way the fix is B's pair for the address it is reached on (and answers from).
    assert result['suggestions'][0]['task']['portsec.openstack.allowed_address_pair'] == {
        'port': 'port-b', 'pairs': [{'ip_address': '10.10.10.12'}], 'state': 'present'}


@pytest.mark.parametrize('backend', ML2_OVS)
def test_ml2_ovs_destination_not_filtered_with_b_pair(backend):
    # With B's pair, ML2/OVS lets through what OVN does; its destination stage only has its own code.
    result = run(flow(), case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12']), backend=backend)
    assert result['verdict'] == 'allowed'
    assert check(result, 'destination_port_security')['code'] == 'DST_NOT_FILTERED_OVS'


@pytest.mark.parametrize('backend, verdict, code', [
    # OVN: $pg_web_ip4 holds the members' fixed IPs only; A's pair 10.10.10.11 is not in it.
    ('ovn', 'blocked', 'INGRESS_REMOTE_GROUP_PAIR_NOT_MEMBER'),
    # ML2/OVS: _select_ips_for_remote_group includes the members' allowed address pairs.
    ('ovs', 'allowed', 'INGRESS_RULE_MATCH'),
    ('iptables_hybrid', 'allowed', 'INGRESS_RULE_MATCH'),
])
def test_backends_remote_group_member_by_pair(backend, verdict, code):
    ports, groups = _remote_group_setup(('10.10.10.11',))
    result = run(flow(), ports, groups=groups, backend=backend)
    assert result['verdict'] == verdict
    assert check(result, 'destination_ingress_groups')['code'] == code


@pytest.mark.parametrize('backend', ML2_OVS)
def test_ml2_ovs_remote_group_member_by_prefix_pair(backend):
    # A prefix pair counts as its network (IPNetwork(ip).cidr): 10.10.10.0/24 holds .11.
    ports, groups = _remote_group_setup(('10.10.10.0/24',))
    assert run(flow(), ports, groups=groups, backend=backend)['verdict'] == 'allowed'
    # An address outside every member's addresses is no member on any backend.
    ports, groups = _remote_group_setup(('10.10.20.0/24',))
    result = run(flow(), ports, groups=groups, backend=backend)
    assert result['blocked_by']['stage'] == 'source_anti_spoofing'
    assert check(result, 'destination_ingress_groups')['code'] == 'INGRESS_NO_MATCHING_RULE'


# B stateless, its ingress rule admits the request and it has no egress rule: the reply needs one
# (OVN allow-stateless ACLs; iptables_hybrid -j CT --notrack), unless the openvswitch driver,
# which never reads stateful, tracks the connection anyway.
@pytest.mark.parametrize('backend, verdict, code', [
    ('ovn', 'blocked', 'REPLY_EGRESS_STATELESS_NO_RULE'),
    ('iptables_hybrid', 'blocked', 'REPLY_EGRESS_STATELESS_NO_RULE'),
    ('ovs', 'allowed', 'REPLY_EGRESS_STATEFUL_OVS_FIREWALL'),
])
def test_backends_stateless_destination(backend, verdict, code):
    sl = _stateless([rule('in', low=5432, high=5432, prefix='10.10.10.11/32')], [])
    result = run(flow(), _stateless_ports(), groups=GROUPS + [sl], backend=backend)
    assert result['verdict'] == verdict
    subs = {sub['code']: sub for sub in check(result, 'reply_path')['subchecks']}
    assert code in subs
    if backend == 'ovs':
        assert 'ignores stateful: false' in subs[code]['detail']
        assert subs[code]['result'] == 'pass'
        # No stateless reply rule is looked for, so no ephemeral port is assumed.
        assert 'EPHEMERAL_PORTS' not in [item['code'] for item in result['assumptions']]
    else:
        assert result['blocked_by']['code'] == code
        assert result['blocked_by']['port']['id'] == 'port-b'


@pytest.mark.parametrize('backend, verdict, code', [
    ('ovn', 'blocked', 'REPLY_INGRESS_STATELESS_NO_RULE'),
    ('iptables_hybrid', 'blocked', 'REPLY_INGRESS_STATELESS_NO_RULE'),
    ('ovs', 'allowed', 'REPLY_INGRESS_STATEFUL_OVS_FIREWALL'),
])
def test_backends_stateless_source(backend, verdict, code):
    # A stateless with the default egress rules only: the reply into A needs an ingress rule.
    sl = _stateless([rule('in', low=5432, high=5432)], egress_defaults('sl'))
    sla = _stateless([], egress_defaults('sla'))
    sla['id'] = sla['name'] = 'sla'
    result = run(flow(), _stateless_ports(a_stateless=True), groups=GROUPS + [sl, sla], backend=backend)
    assert result['verdict'] == verdict
    codes = [sub['code'] for sub in check(result, 'reply_path')['subchecks']]
    assert codes[2] == code
    if verdict == 'blocked':
        assert result['blocked_by']['port']['id'] == 'port-a'


@pytest.mark.parametrize('backend', model.BACKENDS)
def test_backends_stateful_groups_let_the_reply_through(backend):
    # Stateful on every backend: conntrack admits the reply, on both ports.
    result = run(flow(), case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12']), backend=backend)
    codes = [sub['code'] for sub in check(result, 'reply_path')['subchecks']]
    assert codes[1:3] == ['REPLY_EGRESS_STATEFUL', 'REPLY_INGRESS_STATEFUL']


def test_iptables_hybrid_case2_literal_command_as_ovs():
    # The seed's Case 2 literal command: A still drops 10.10.10.11 first; B's 10.10.10.11/24 is
    # the whole /24, so B's side passes (its reply from .12 too).
    result = run(flow(), case1_ports(b_pairs=['10.10.10.11/24']), backend='iptables_hybrid')
    assert result['blocked_by']['stage'] == 'source_anti_spoofing'
    assert result['blocked_by']['code'] == 'SRC_IP_NOT_AUTHORISED'
    assert check(result, 'destination_port_security')['code'] == 'DST_NOT_FILTERED_OVS'
    assert check(result, 'reply_path')['result'] == 'pass'
    assert result['backend'] == 'iptables_hybrid'


@pytest.mark.parametrize('backend, name', [
    ('ovn', 'ML2/OVN'),
    ('ovs', 'ML2/OVS (openvswitch)'),
    ('iptables_hybrid', 'ML2/OVS (iptables_hybrid)'),
])
def test_backend_named_in_assumptions(backend, name):
    result = run(flow(), case1_ports(), backend=backend)
    assert result['assumptions'][0]['detail'].startswith('Modelled as %s.' % name)


# -- what if ---------------------------------------------------------------------------------

def test_what_if_pair_on_a_fixes_case1():
    ports = case1_ports(b_enabled=False)
    before = copy.deepcopy(ports)
    result = run(flow(), ports, what_if={'ports': [{'port': 'port-a',
                                                    'add_pairs': ['10.10.10.11']}]})
    assert result['verdict'] == 'allowed'
    assert result['what_if'] == ['adds pair(s) 10.10.10.11 to port port-a (port-a)']
    assert ports == before  # the inputs are not changed


def test_what_if_disable_port_security_on_a():
    result = run(flow(), case1_ports(b_enabled=False),
                 what_if={'ports': [{'port': 'port-a', 'port_security_enabled': False}]})
    assert result['verdict'] == 'allowed'
    assert check(result, 'source_anti_spoofing')['code'] == 'SRC_PORT_SECURITY_DISABLED'


def test_what_if_remove_pair_by_meaning():
    ports = case1_ports(a_pairs=['10.10.10.11/32'], b_enabled=False)
    result = run(flow(), ports, what_if={'ports': [{'port': 'port-a',
                                                    'remove_pairs': ['10.10.10.11']}]})
    assert result['verdict'] == 'blocked'
    assert result['blocked_by']['stage'] == 'source_anti_spoofing'


def test_what_if_groups_and_rules():
    # Case 2 done right, ping blocked at B's groups; a planned icmp rule fixes it.
    ports = case1_ports(a_pairs=['10.10.10.11'], b_pairs=['10.10.10.12'])
    planned = {'rules': [{'security_group_id': 'db', 'direction': 'ingress',
                          'protocol': 'icmp', 'remote_ip_prefix': '10.10.10.11/32'}]}
    assert run(flow(protocol='icmp', number=None), ports, what_if=planned)['verdict'] == 'allowed'
    # Setting B's groups to none drops everything (neutron_pg_drop).
    result = run(flow(), ports, what_if={'ports': [{'port': 'port-b', 'security_groups': []}]})
    assert result['blocked_by']['code'] == 'INGRESS_NO_GROUPS'


@pytest.mark.parametrize('what_if, fragment', [
    ({'ports': [{'port': 'nope', 'add_pairs': ['10.0.0.1']}]}, 'not one of the ports'),
    ({'ports': [{'port': 'port-a', 'port_security_enabled': False,
                 'add_pairs': ['10.0.0.1']}]}, 'neither allowed address pairs'),
    ({'ports': [{'port': 'port-b', 'add_pairs': ['10.0.0.1']}]}, 'require it'),
    ({'ports': [{'port': 'port-a', 'add_pairs': ['10.0.0.256']}]}, 'not a valid IP'),
    ({'rules': [{'security_group_id': 'nope', 'direction': 'ingress'}]}, 'not known'),
])
def test_what_if_errors(what_if, fragment):
    with pytest.raises(PortsecError) as err:
        run(flow(), case1_ports(b_enabled=False), what_if=what_if)
    assert fragment in err.value.message


# -- flow input -------------------------------------------------------------------------------

def test_default_addresses_are_fixed_ips():
    result = run(flow(src_ip=None, dst_ip=None, number=22), case1_ports())
    assert result['flow']['source_ip'] == '192.168.1.11'
    assert result['flow']['destination_ip'] == '192.168.1.12'
    assert result['verdict'] == 'allowed'


@pytest.mark.parametrize('changes, fragment', [
    ({'protocol': 'sctp'}, 'not one of'),
    ({'number': None}, 'needs the destination port'),
    ({'number': 70000}, 'between 1 and 65535'),
    ({'src_ip': 'nope'}, 'not a valid IP'),
    ({'dst_ip': '2001:db8::1'}, 'same IP version'),
    ({'src': 'ghost'}, 'not among the ports'),
])
def test_flow_errors(changes, fragment):
    kwargs = dict(changes)
    with pytest.raises(PortsecError) as err:
        run(flow(**kwargs), case1_ports())
    assert fragment in err.value.message


def test_bad_backend():
    with pytest.raises(PortsecError):
        run(flow(), case1_ports(), backend='linuxbridge')


def test_no_ipv6_fixed_ip_to_pick():
    with pytest.raises(PortsecError) as err:
        run(flow(src_ip='2001:db8::1', dst_ip=None), case1_ports())
    assert 'no IPv6 fixed IP' in err.value.message


# -- assumptions and summary --------------------------------------------------------------------

def test_assumptions_network_layout():
    same = run(flow(number=22, src_ip=None, dst_ip=None), case1_ports())
    codes = [item['code'] for item in same['assumptions']]
    assert codes == ['BACKEND', 'GUEST_NOT_MODELLED', 'SOURCE_MAC', 'SAME_NETWORK']
    ports = case3_ports(b_db_enabled=True)
    across = run(flow(src='port-a1', dst='port-b2', src_ip=None, dst_ip=None, number=22), ports)
    assert 'L3_NOT_MODELLED' in [item['code'] for item in across['assumptions']]


def test_summary_line():
    result = run(flow(), case1_ports(b_enabled=False))
    assert model.summary(result) == ('10.10.10.11 -> 10.10.10.12 tcp/5432: blocked at'
                                     ' source_anti_spoofing on port port-a (address 10.10.10.11)')
    ok = run(flow(protocol='icmp', number=None), case1_ports(a_enabled=False, b_enabled=False))
    assert model.summary(ok) == '10.10.10.11 -> 10.10.10.12 icmp: allowed'


@pytest.mark.parametrize('the_rule, text', [
    (rule('r', low=22, high=22, prefix='0.0.0.0/0'), 'IPv4 tcp port 22 from 0.0.0.0/0'),
    (rule('r', low=5000, high=None), 'IPv4 tcp ports 5000-65535 from anywhere'),
    (rule('r', protocol='icmp', low=8, high=0), 'IPv4 icmp type 8 code 0 from anywhere'),
    (rule('r', protocol=None, remote_group='web'), 'IPv4 any protocol from group web'),
    (rule('r', 'egress', None, address_group='ag'), 'IPv4 any protocol to address group ag'),
    (rule('r', 'egress', None), 'IPv4 any protocol to anywhere'),
])
def test_describe_rule(the_rule, text):
    assert model.describe_rule(the_rule) == text


# -- an unknown backend: the flow for every candidate ------------------------------------------
# backend.detect leaves candidates when the evidence does not name one backend. The expected
# verdicts are those of the backend tests above, which were worked out from the sources.

def detected(*candidates):
    return {'requested': 'auto', 'backend': candidates[0] if len(candidates) == 1 else 'unknown',
            'candidates': list(candidates), 'evidence': ['seen in the test'], 'requests': 1}


def test_unknown_backend_and_verdicts_that_differ():
    # A's pair 10.10.10.99/24: one address under OVN (blocked at A), the /24 under ML2/OVS.
    ports = case1_ports(a_pairs=['10.10.10.99/24'], b_pairs=['10.10.10.12'])
    result = model.evaluate_detected(flow(), ports, GROUPS, detected(*model.BACKENDS))
    assert (result['backend'], result['verdict'], result['reachable'], result['blocked_by']) == (
        'unknown', 'unknown', None, None)
    assert {name: item['verdict'] for name, item in result['backends'].items()} == {
        'ovn': 'blocked', 'ovs': 'allowed', 'iptables_hybrid': 'allowed'}
    assert result['backends']['ovn']['blocked_by']['code'] == 'SRC_PAIR_HOST_BITS'
    source = check(result, 'source_anti_spoofing')
    assert (source['result'], source['code']) == ('unknown', 'BACKEND_DEPENDENT')
    assert {name: item['code'] for name, item in source['backends'].items()} == {
        'ovn': 'SRC_PAIR_HOST_BITS', 'ovs': 'SRC_IP_IN_PAIR', 'iptables_hybrid': 'SRC_IP_IN_PAIR'}
    # Stages that agree keep their own check.
    assert check(result, 'destination_ingress_groups')['code'] != 'BACKEND_DEPENDENT'
    assert 'differs between backends: ML2/OVN blocked at source_anti_spoofing' in model.summary(result)
    backend_note = [item for item in result['assumptions'] if item['code'] == 'BACKEND']
    assert backend_note[0]['detail'].startswith('Backend unknown (seen in the test)')
    # The fix that makes it pass on OVN is offered.
    assert any('10.10.10.11' in item['text'] for item in result['suggestions'])


def test_unknown_backend_and_a_verdict_that_is_the_same_stands():
    # The same ports between the two ML2/OVS drivers only: allowed on both.
    ports = case1_ports(a_pairs=['10.10.10.99/24'], b_pairs=['10.10.10.12'])
    result = model.evaluate_detected(flow(), ports, GROUPS, detected(*model.ML2_OVS))
    assert (result['backend'], result['verdict'], result['reachable']) == ('unknown', 'allowed', True)
    assert sorted(result['backends']) == ['iptables_hybrid', 'ovs']


def test_unknown_backend_blocked_everywhere_but_in_different_places():
    # No pair on B: OVN drops at B's destination check, ML2/OVS only B's reply (B may not send
    # from 10.10.10.12 on any backend), so the reply path fails on all three.
    result = model.evaluate_detected(flow(), case1_ports(a_pairs=['10.10.10.11']), GROUPS,
                                     detected(*model.BACKENDS))
    assert (result['verdict'], result['reachable']) == ('blocked', False)
    assert {name: item['blocked_by']['stage'] for name, item in result['backends'].items()} == {
        'ovn': 'destination_port_security', 'ovs': 'reply_path', 'iptables_hybrid': 'reply_path'}
    assert (result['blocked_by']['stage'], result['blocked_by']['port']['id']) == ('reply_path', 'port-b')
    assert check(result, 'destination_port_security')['result'] == 'unknown'


@pytest.mark.parametrize('backend', model.BACKENDS)
def test_one_detected_backend_is_evaluate_with_the_detection_said(backend):
    ports = case1_ports(a_pairs=['10.10.10.99/24'], b_pairs=['10.10.10.12'])
    result = model.evaluate_detected(flow(), ports, GROUPS, detected(backend))
    plain = run(flow(), ports, backend=backend)
    assert (result['backend'], result['verdict'], result['checks']) == (backend, plain['verdict'], plain['checks'])
    assert list(result['backends']) == [backend]
    assert [item for item in result['assumptions'] if item['code'] == 'BACKEND'][0]['detail'].startswith(
        'Detected %s: seen in the test.' % model.BACKEND_NAMES[backend])
