# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Audit findings: every code, its severity, and when it must not appear."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portsec.openstack.plugins.module_utils import findings

MAC = 'fa:16:3e:00:00:0b'


def port(enabled=True, groups=('ssh',), pairs=(), port_id='port-b', ip='192.168.1.12'):
    return {'id': port_id, 'name': port_id, 'network_id': 'net', 'mac_address': MAC,
            'fixed_ips': [{'ip_address': ip}], 'port_security_enabled': enabled,
            'security_groups': list(groups) if enabled else [],
            'allowed_address_pairs': [{'ip_address': pair} for pair in pairs]}


def rule(rule_id, protocol='tcp', low=22, high=22, prefix='0.0.0.0/0', direction='ingress',
         remote_group=None):
    return {'id': rule_id, 'direction': direction, 'ethertype': 'IPv4', 'protocol': protocol,
            'port_range_min': low, 'port_range_max': high, 'remote_ip_prefix': prefix,
            'remote_group_id': remote_group}


def without_port_security_field(body):
    """The port as a Neutron without the port-security extension returns it."""
    del body['port_security_enabled']
    return body


FIP = [{'floating_ip_address': '172.24.4.10'}]
INTERNAL = {'id': 'net', 'name': 'project', 'router:external': False}
EXTERNAL = {'id': 'public-id', 'name': 'public', 'router:external': True}


def codes(result):
    return sorted(item['code'] for item in result)


@pytest.mark.parametrize('kwargs, expected', [
    # The seed's warning: port security off on a VM with a floating IP.
    (dict(port=port(enabled=False), floating_ips=FIP, network=INTERNAL),
     ['PORT_SECURITY_OFF_EXPOSED']),
    (dict(port=port(enabled=False), network=EXTERNAL), ['PORT_SECURITY_OFF_EXPOSED']),
    (dict(port=port(enabled=False), network=INTERNAL), ['PORT_SECURITY_OFF']),
    # Port security on, no group: all traffic dropped.
    (dict(port=port(groups=()), network=INTERNAL), ['NO_SECURITY_GROUPS']),
    # A healthy port: nothing to say.
    (dict(port=port(), network=INTERNAL), []),
    # No port-security extension: Neutron filters every port, so it is not "off".
    (dict(port=without_port_security_field(port()), network=INTERNAL), []),
    (dict(port=without_port_security_field(port(groups=())), network=INTERNAL), ['NO_SECURITY_GROUPS']),
    (dict(port=port(pairs=['10.10.10.12']), network=INTERNAL), []),
    (dict(port=port(pairs=['10.10.10.12/32']), network=INTERNAL), []),
])
def test_port_level_findings(kwargs, expected):
    assert codes(findings.port_findings(**kwargs)) == expected


@pytest.mark.parametrize('pair, expected', [
    ('0.0.0.0/0', ['PAIR_ANY_ADDRESS']),
    ('::/0', ['PAIR_ANY_ADDRESS']),
    ('10.0.0.0/8', ['PAIR_WIDE_PREFIX']),
    ('10.10.0.0/15', ['PAIR_WIDE_PREFIX']),
    ('2001:db8::/32', ['PAIR_WIDE_PREFIX']),
    # /16 is the limit: not "very wide", but a whole subnet.
    ('10.10.0.0/16', ['PAIR_WHOLE_SUBNET']),
    ('10.10.10.0/24', ['PAIR_WHOLE_SUBNET']),
    ('2001:db8::/64', ['PAIR_WHOLE_SUBNET']),
    # The seed's Case 2 pair: one address under OVN, the /24 under ML2/OVS.
    ('10.10.10.11/24', ['PAIR_HOST_BITS']),
    ('10.10.10.12', []),
])
def test_pair_findings(pair, expected):
    assert codes(findings.port_findings(port(pairs=[pair]), network=INTERNAL)) == expected


def test_pair_host_bits_says_which():
    (item,) = findings.port_findings(port(pairs=['10.10.10.11/24']), network=INTERNAL)
    assert item['severity'] == 'medium'
    assert 'ML2/OVN reads it as 10.10.10.11 alone' in item['detail']
    assert 'ML2/OVS as the whole 10.10.10.0/24' in item['detail']
    assert item['element'] == 'pair 10.10.10.11/24'
    # No backend known: the finding gives both readings and says it assumes none.
    assert item['backend'] == 'unknown'


@pytest.mark.parametrize('backend, reads', [
    # ovn-nb(5) port_security: a non-zero host part means the one address.
    ('ovn', 'ML2/OVN, which this cloud runs, reads it as 10.10.10.11 alone'),
    # openvswitch_firewall and iptables_firewall: netaddr/iptables mask it to the network.
    ('ovs', 'ML2/OVS, which this cloud runs, reads it as the whole 10.10.10.0/24 (256 addresses)'),
    ('iptables_hybrid', 'ML2/OVS, which this cloud runs, reads it as the whole 10.10.10.0/24'),
])
def test_pair_host_bits_on_a_known_backend(backend, reads):
    (item,) = findings.port_findings(port(pairs=['10.10.10.11/24']), network=INTERNAL,
                                     backend=backend)
    assert reads in item['detail']
    assert item['backend'] == backend


@pytest.mark.parametrize('backend, says', [
    ('ovn', 'OVN turns it into a virtual port'),
    ('ovs', 'ML2/OVS has no virtual ports, so an unbound vip only holds the address'),
    ('unknown', '(ML2/OVS has none: the port only holds the address)'),
])
def test_pair_equal_to_other_port_fixed_ip_per_backend(backend, says):
    vip = {'id': 'vip', 'name': 'vip', 'network_id': 'net',
           'fixed_ips': [{'ip_address': '10.10.10.50'}]}
    (item,) = findings.port_findings(port(pairs=['10.10.10.50']), network=INTERNAL,
                                     network_ports=[vip], backend=backend)
    assert says in item['detail']
    assert item['backend'] == backend


def test_findings_that_hold_everywhere_assume_no_backend():
    (item,) = findings.port_findings(port(pairs=['0.0.0.0/0']), network=INTERNAL, backend='ovn')
    assert (item['code'], item['backend']) == ('PAIR_ANY_ADDRESS', None)


@pytest.mark.parametrize('pair, expected', [
    ('10.10.10.50', ['PAIR_IS_OTHER_PORT_FIXED_IP']),
    ('10.10.10.50/24', ['PAIR_HOST_BITS', 'PAIR_IS_OTHER_PORT_FIXED_IP']),
    # A subnet pair is not a virtual IP.
    ('10.10.10.0/24', ['PAIR_WHOLE_SUBNET']),
    ('10.10.10.51', []),
])
def test_pair_equal_to_other_port_fixed_ip(pair, expected):
    vip = {'id': 'vip', 'name': 'vip', 'network_id': 'net',
           'fixed_ips': [{'ip_address': '10.10.10.50'}]}
    elsewhere = {'id': 'x', 'name': 'x', 'network_id': 'other-net',
                 'fixed_ips': [{'ip_address': '10.10.10.51'}]}
    me = port(pairs=[pair])
    result = findings.port_findings(me, network=INTERNAL, network_ports=[vip, elsewhere, me])
    assert codes(result) == expected


def test_own_fixed_ip_as_pair_is_no_clash():
    me = port(pairs=['192.168.1.12'])
    assert findings.port_findings(me, network=INTERNAL, network_ports=[me]) == []


@pytest.mark.parametrize('rules, expected', [
    ([rule('r1')], ['INGRESS_FROM_ANYWHERE_WITH_FIP']),
    # No remote at all means from anywhere.
    ([rule('r1', prefix=None)], ['INGRESS_FROM_ANYWHERE_WITH_FIP']),
    ([rule('r1', protocol=None, low=None, high=None)], ['INGRESS_ALL_FROM_ANYWHERE_WITH_FIP']),
    ([rule('r1', low=None, high=None)], ['INGRESS_ALL_FROM_ANYWHERE_WITH_FIP']),
    ([rule('r1', low=1, high=65535)], ['INGRESS_ALL_FROM_ANYWHERE_WITH_FIP']),
    ([rule('r1', protocol='icmp', low=None, high=None)], ['INGRESS_FROM_ANYWHERE_WITH_FIP']),
    # Restricted sources are fine.
    ([rule('r1', prefix='203.0.113.0/24')], []),
    ([rule('r1', prefix=None, remote_group='web')], []),
    # Egress to anywhere is not exposure.
    ([rule('r1', direction='egress', protocol=None, low=None, high=None)], []),
])
def test_ingress_from_anywhere_with_fip(rules, expected):
    groups = {'ssh': {'id': 'ssh', 'name': 'ssh', 'security_group_rules': rules}}
    assert codes(findings.port_findings(port(), floating_ips=FIP, network=INTERNAL,
                                        groups=groups)) == expected
    # Without a floating IP the same rules are not reported.
    assert findings.port_findings(port(), network=INTERNAL, groups=groups) == []


def test_every_code_has_a_known_severity():
    assert set(findings.CODES.values()) <= set(findings.SEVERITIES)


def test_sort_and_worst():
    result = findings.port_findings(port(groups=(), pairs=['10.10.10.0/24', '0.0.0.0/0']),
                                    network=INTERNAL)
    ordered = findings.sort_findings(result)
    assert [item['code'] for item in ordered] == ['NO_SECURITY_GROUPS', 'PAIR_ANY_ADDRESS',
                                                  'PAIR_WHOLE_SUBNET']
    assert findings.worst_severity(result) == 'high'
    assert findings.worst_severity([]) is None
