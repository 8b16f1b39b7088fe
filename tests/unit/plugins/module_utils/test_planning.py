# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Table-driven tests of the pure planning functions: addresses, pairs, port security, views (no SDK, no cloud)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError
from ansible_collections.portsec.openstack.plugins.module_utils import addresses, security, views
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import normalize_port

MAC = 'fa:16:3e:00:00:01'
OTHER_MAC = 'fa:16:3e:00:00:02'


def make_port(pairs=None, enabled=True, groups=None, mac=MAC):
    """A port as the modules see it: as Neutron returns it, normalised where it is read."""
    return normalize_port({
        'id': '11111111-2222-3333-4444-555555555555',
        'name': 'port-b',
        'mac_address': mac,
        'network_id': 'net-1',
        'port_security_enabled': enabled,
        'security_groups': list(groups or []),
        'allowed_address_pairs': list(pairs or []),
        'revision_number': 7,
    })


# -- address parsing -------------------------------------------------------------

@pytest.mark.parametrize('text, key, sent', [
    ('10.0.0.5', (4, 0x0A000005, 32), '10.0.0.5'),
    ('10.0.0.5/32', (4, 0x0A000005, 32), '10.0.0.5'),
    ('10.10.10.11/24', (4, 0x0A0A0A0B, 24), '10.10.10.11/24'),
    ('10.10.10.0/24', (4, 0x0A0A0A00, 24), '10.10.10.0/24'),
    ('0.0.0.0/0', (4, 0, 0), '0.0.0.0/0'),
    ('2001:db8::11', (6, 0x20010DB8000000000000000000000011, 128), '2001:db8::11'),
    ('2001:DB8:0:0::11/128', (6, 0x20010DB8000000000000000000000011, 128), '2001:db8::11'),
    ('2001:0db8:0000::0011', (6, 0x20010DB8000000000000000000000011, 128), '2001:db8::11'),
    ('2001:db8::/64', (6, 0x20010DB8 << 96, 64), '2001:db8::/64'),
    ('::/0', (6, 0, 0), '::/0'),
])
def test_parse_address_valid(text, key, sent):
    address = addresses.parse_address(text)
    assert address.key == key
    assert address.text() == sent


@pytest.mark.parametrize('text, fragment', [
    ('10.0.0.256', 'not a valid IP address'),
    ('10.0.0', 'not a valid IP address'),
    ('hello', 'not a valid IP address'),
    ('10.0.0.5/33', 'not a valid IP address'),
    ('10.0.0.05', 'not a valid IP address'),
    ('', 'not a valid IP address'),
    ('10.0.0.0/255.255.255.0', "write it as '10.0.0.0/24'"),
    ('10.0.0.5/032', "write it as '10.0.0.5/32'"),
    (' 10.0.0.5', 'not a valid IP address'),
    ('224.0.0.5', 'multicast'),
    ('239.1.2.3/32', 'multicast'),
    ('224.0.0.0/4', 'multicast'),
    ('ff02::1', 'multicast'),
])
def test_parse_address_invalid_names_value(text, fragment):
    with pytest.raises(PortsecError) as err:
        addresses.parse_address(text)
    assert fragment in err.value.message
    assert repr(text) in err.value.message


def test_parse_address_rejects_non_string():
    with pytest.raises(PortsecError, match='not a string'):
        addresses.parse_address(5)


@pytest.mark.parametrize('text, expected', [
    ('FA:16:3E:00:00:01', MAC),
    ('fa-16-3e-00-00-01', MAC),
    ('fa:16:3e:00:00:01', MAC),
])
def test_normalize_mac(text, expected):
    assert addresses.normalize_mac(text) == expected


@pytest.mark.parametrize('text, fragment', [
    ('fa:16:3e:00:00', 'not a valid MAC'),
    ('fa:16:3e:00:00:0g', 'not a valid MAC'),
    ('fa:16-3e:00:00:01', 'not a valid MAC'),
    ('01:00:5e:00:00:01', 'multicast MAC'),
    ('ff:ff:ff:ff:ff:ff', 'multicast MAC'),
    ('00:00:00:00:00:00', 'all-zero'),
])
def test_normalize_mac_invalid(text, fragment):
    with pytest.raises(PortsecError) as err:
        addresses.normalize_mac(text)
    assert fragment in err.value.message
    assert text in err.value.message


# -- requested pairs -----------------------------------------------------------------

def test_requested_pairs_accept_strings_and_dicts():
    pairs, warnings = addresses.parse_requested_pairs(
        ['10.0.0.5', {'ip_address': '10.0.0.6', 'mac_address': 'FA:16:3E:00:00:02'}])
    assert [p.address.text() for p in pairs] == ['10.0.0.5', '10.0.0.6']
    assert pairs[1].mac == OTHER_MAC
    assert warnings == []


@pytest.mark.parametrize('text', ['0.0.0.0/0', '::/0'])
def test_requested_pairs_warn_on_any_address(text):
    _pairs, warnings = addresses.parse_requested_pairs([text])
    assert len(warnings) == 1
    assert 'anti-spoofing' in warnings[0]


@pytest.mark.parametrize('item, fragment', [
    ({'mac_address': MAC}, 'has no ip_address'),
    ({'ip_address': '10.0.0.5', 'mac': MAC}, 'unknown key(s) mac'),
    (42, 'must be a dict'),
    ({'ip_address': '10.0.0.5', 'mac_address': 'zz'}, "pairs[0].mac_address 'zz'"),
    ({'ip_address': 'x'}, "pairs[0].ip_address 'x'"),
])
def test_requested_pairs_invalid(item, fragment):
    with pytest.raises(PortsecError) as err:
        addresses.parse_requested_pairs([item])
    assert fragment in err.value.message


# -- pair planning: equality rules -----------------------------------------------------

def stored(ip, mac=MAC):
    return {'ip_address': ip, 'mac_address': mac}


def requested(*items):
    return addresses.parse_requested_pairs(list(items))[0]


PRESENT_CASES = [
    # (id, stored pairs, requested, expected changed, expected sent list or None)
    ('bare equals /32', [stored('10.0.0.5/32')], ['10.0.0.5'], False, None),
    ('/32 equals bare', [stored('10.0.0.5')], ['10.0.0.5/32'], False, None),
    ('omitted MAC is the port MAC', [stored('10.0.0.5')], [{'ip_address': '10.0.0.5'}], False, None),
    ('MAC case-insensitive', [stored('10.0.0.5')],
     [{'ip_address': '10.0.0.5', 'mac_address': MAC.upper()}], False, None),
    ('upper-case stored MAC', [stored('10.0.0.5', MAC.upper())], ['10.0.0.5'], False, None),
    ('IPv6 any text form', [stored('2001:db8::11')], ['2001:0DB8:0::0011/128'], False, None),
    ('other MAC is another pair', [stored('10.0.0.5')],
     [{'ip_address': '10.0.0.5', 'mac_address': OTHER_MAC}], True,
     [stored('10.0.0.5'), {'ip_address': '10.0.0.5', 'mac_address': OTHER_MAC}]),
    ('host bits prefix differs from network prefix', [stored('10.10.10.0/24')],
     ['10.10.10.11/24'], True, [stored('10.10.10.0/24'), {'ip_address': '10.10.10.11/24'}]),
    ('network prefix differs from host bits prefix', [stored('10.10.10.11/24')],
     ['10.10.10.0/24'], True, [stored('10.10.10.11/24'), {'ip_address': '10.10.10.0/24'}]),
    ('prefix with host bits differs from the host', [stored('10.10.10.11/24')],
     ['10.10.10.11'], True, [stored('10.10.10.11/24'), {'ip_address': '10.10.10.11'}]),
    ('host sent bare', [], ['10.0.0.5/32'], True, [{'ip_address': '10.0.0.5'}]),
    ('IPv6 host sent compressed and bare', [], ['2001:0db8::0011/128'], True,
     [{'ip_address': '2001:db8::11'}]),
    ('duplicates in the request collapse', [],
     ['10.0.0.5', '10.0.0.5/32', {'ip_address': '10.0.0.5', 'mac_address': MAC}],
     True, [{'ip_address': '10.0.0.5'}]),
    ('order never matters', [stored('10.0.0.6'), stored('10.0.0.5')], ['10.0.0.5', '10.0.0.6'],
     False, None),
    ('others are kept', [stored('10.0.0.9')], ['10.0.0.5'], True,
     [stored('10.0.0.9'), {'ip_address': '10.0.0.5'}]),
    ('MAC given is sent normalised', [], [{'ip_address': '10.0.0.5', 'mac_address': 'FA-16-3E-00-00-02'}],
     True, [{'ip_address': '10.0.0.5', 'mac_address': OTHER_MAC}]),
]


@pytest.mark.parametrize('stored_pairs, wanted, changed, sent',
                         [case[1:] for case in PRESENT_CASES], ids=[case[0] for case in PRESENT_CASES])
def test_plan_pairs_present(stored_pairs, wanted, changed, sent):
    plan = addresses.plan_pairs(make_port(stored_pairs), requested(*wanted), 'present')
    assert plan.changed is changed
    if changed:
        assert plan.changes == {'allowed_address_pairs': sent}
    else:
        assert plan.changes == {}


ABSENT_CASES = [
    ('removes /32 when asked bare', [stored('10.0.0.5/32'), stored('10.0.0.6')], ['10.0.0.5'],
     [stored('10.0.0.6')], ['10.0.0.5/32']),
    ('removes bare when asked /32', [stored('10.0.0.5')], ['10.0.0.5/32'], [], ['10.0.0.5']),
    ('does not remove the network form for host bits', [stored('10.10.10.0/24')],
     ['10.10.10.11/24'], None, []),
    ('absent pair is a no-op', [stored('10.0.0.6')], ['10.0.0.5'], None, []),
    ('other MAC is kept', [stored('10.0.0.5', OTHER_MAC)], ['10.0.0.5'], None, []),
    ('explicit MAC removes that one', [stored('10.0.0.5', OTHER_MAC), stored('10.0.0.5')],
     [{'ip_address': '10.0.0.5', 'mac_address': OTHER_MAC}], [stored('10.0.0.5')], ['10.0.0.5']),
]


@pytest.mark.parametrize('stored_pairs, wanted, sent, removed',
                         [case[1:] for case in ABSENT_CASES], ids=[case[0] for case in ABSENT_CASES])
def test_plan_pairs_absent(stored_pairs, wanted, sent, removed):
    plan = addresses.plan_pairs(make_port(stored_pairs), requested(*wanted), 'absent')
    assert [pair.raw['ip_address'] for pair in plan.removed] == removed
    if sent is None:
        assert plan.changes == {}
    else:
        assert plan.changes == {'allowed_address_pairs': sent}


EXCLUSIVE_CASES = [
    ('keeps equal stored pair in its stored form', [stored('10.0.0.5/32'), stored('10.0.0.9')],
     ['10.0.0.5'], [stored('10.0.0.5/32')]),
    ('empty list removes all', [stored('10.0.0.5'), stored('10.0.0.6')], [], []),
    ('adds missing and drops others', [stored('10.0.0.9')], ['10.0.0.5'],
     [{'ip_address': '10.0.0.5'}]),
    ('no change when equal by meaning', [stored('10.0.0.5/32'), stored('2001:db8::1')],
     ['2001:DB8::1', '10.0.0.5'], None),
    ('stored duplicates by meaning collapse', [stored('10.0.0.5/32'), stored('10.0.0.5')],
     ['10.0.0.5'], [stored('10.0.0.5/32')]),
]


@pytest.mark.parametrize('stored_pairs, wanted, sent',
                         [case[1:] for case in EXCLUSIVE_CASES], ids=[case[0] for case in EXCLUSIVE_CASES])
def test_plan_pairs_exclusive(stored_pairs, wanted, sent):
    plan = addresses.plan_pairs(make_port(stored_pairs), requested(*wanted), 'present', exclusive=True)
    if sent is None:
        assert not plan.changed
    else:
        assert plan.changes == {'allowed_address_pairs': sent}


def test_plan_pairs_never_resends_existing_text():
    port = make_port([stored('10.0.0.5/32')])
    plan = addresses.plan_pairs(port, requested('10.0.0.6'), 'present')
    assert plan.changes['allowed_address_pairs'][0] == stored('10.0.0.5/32')
    assert [pair.address.text() for pair in plan.added] == ['10.0.0.6']


def test_plan_pairs_keeps_unparsable_stored_pair():
    port = make_port([{'ip_address': 'weird', 'mac_address': MAC}])
    plan = addresses.plan_pairs(port, requested('10.0.0.6'), 'present')
    assert plan.changes['allowed_address_pairs'][0] == {'ip_address': 'weird', 'mac_address': MAC}


# -- port security planning ---------------------------------------------------------------

PS_CASES = [
    # (id, port kwargs, enabled, group ids, mode, expected changes, removed groups, removed pairs)
    ('disable clears groups and pairs in one update',
     dict(groups=['g1', 'g2'], pairs=[stored('10.0.0.5')]), False, None, 'exact',
     {'port_security_enabled': False, 'security_groups': [], 'allowed_address_pairs': []},
     ['g1', 'g2'], 1),
    ('disable without groups or pairs', dict(), False, None, 'exact',
     {'port_security_enabled': False}, [], 0),
    ('disable when already disabled is a no-op', dict(enabled=False), False, None, 'exact', {}, [], 0),
    ('enable with groups in the same update', dict(enabled=False), True, ['g1'], 'exact',
     {'port_security_enabled': True, 'security_groups': ['g1']}, [], 0),
    ('enable without groups', dict(enabled=False), True, None, 'exact',
     {'port_security_enabled': True}, [], 0),
    ('enabled no-op', dict(groups=['g1']), True, None, 'exact', {}, [], 0),
    ('exact replaces', dict(groups=['g1', 'g2']), None, ['g2', 'g3'], 'exact',
     {'security_groups': ['g2', 'g3']}, ['g1'], 0),
    ('exact same set in another order is a no-op', dict(groups=['g1', 'g2']), None, ['g2', 'g1'],
     'exact', {}, [], 0),
    ('exact empty removes all', dict(groups=['g1']), None, [], 'exact',
     {'security_groups': []}, ['g1'], 0),
    ('add keeps the rest', dict(groups=['g1']), None, ['g2'], 'add',
     {'security_groups': ['g1', 'g2']}, [], 0),
    ('add present is a no-op', dict(groups=['g1', 'g2']), None, ['g2'], 'add', {}, [], 0),
    ('remove keeps the rest', dict(groups=['g1', 'g2']), None, ['g2'], 'remove',
     {'security_groups': ['g1']}, ['g2'], 0),
    ('remove absent is a no-op', dict(groups=['g1']), None, ['g3'], 'remove', {}, [], 0),
    ('groups duplicated in request collapse', dict(groups=[]), None, ['g1', 'g1'], 'exact',
     {'security_groups': ['g1']}, [], 0),
    ('remove on a port without port security is a no-op', dict(enabled=False), None, ['g1'],
     'remove', {}, [], 0),
]


@pytest.mark.parametrize('port_kwargs, enabled, group_ids, mode, changes, removed_groups, removed_pairs',
                         [case[1:] for case in PS_CASES], ids=[case[0] for case in PS_CASES])
def test_plan_port_security(port_kwargs, enabled, group_ids, mode, changes, removed_groups, removed_pairs):
    plan = security.plan_port_security(make_port(**port_kwargs), enabled, group_ids, mode)
    assert plan.changes == changes
    assert plan.removed_groups == removed_groups
    assert len(plan.removed_pairs) == removed_pairs
    assert plan.disables is (changes.get('port_security_enabled') is False)


def test_enable_without_groups_warns_all_traffic_dropped():
    plan = security.plan_port_security(make_port(enabled=False), True, None)
    assert len(plan.warnings) == 1
    assert 'no security groups' in plan.warnings[0]


def test_groups_with_disable_is_an_error():
    with pytest.raises(PortsecError, match=r'security_groups \(web\) cannot be combined'):
        security.validate_port_security_request(False, ['web'])


def test_groups_on_disabled_port_without_enabling_is_an_error():
    with pytest.raises(PortsecError, match='Set port_security_enabled: true in the same task'):
        security.plan_port_security(make_port(enabled=False), None, ['g1'], 'add')


@pytest.mark.parametrize('fips, network, expected', [
    ([], {'router:external': False}, []),
    ([{'floating_ip_address': '172.24.4.10'}], {'router:external': False},
     ['it has floating IP(s) 172.24.4.10']),
    ([], {'router:external': True, 'name': 'public'}, ['it sits on the external network public']),
    ([{'floating_ip_address': '172.24.4.11'}, {'floating_ip_address': '172.24.4.10'}], None,
     ['it has floating IP(s) 172.24.4.10, 172.24.4.11']),
])
def test_exposure_reasons(fips, network, expected):
    assert security.exposure_reasons(make_port(), fips, network) == expected


def test_views_show_names_and_fill_macs():
    port = make_port(groups=['g1'], pairs=[{'ip_address': '10.0.0.5'}])
    view = views.port_view(port, {'g1': 'ssh'})
    assert view['security_groups'] == [{'id': 'g1', 'name': 'ssh'}]
    assert view['allowed_address_pairs'] == [{'ip_address': '10.0.0.5', 'mac_address': MAC}]
    diff = views.diff_view(port, {'g1': 'ssh'})
    assert diff == {'port_security_enabled': True, 'security_groups': ['ssh'],
                    'allowed_address_pairs': ['10.0.0.5 (%s)' % MAC]}


@pytest.mark.parametrize('value, expected', [
    ('11111111-2222-3333-4444-555555555555', True),
    ('111111112222333344445555555555AA', True),
    ('port-b', False),
    ('', False),
    (None, False),
])
def test_is_uuid(value, expected):
    assert addresses.is_uuid(value) is expected


def test_shorthand_pair_is_named_as_the_user_wrote_it():
    with pytest.raises(PortsecError) as err:
        addresses.parse_requested_pairs(['10.0.0.300'], label='pair')
    assert err.value.message.startswith("pair '10.0.0.300' is not a valid IP address")
