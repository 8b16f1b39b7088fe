# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backend detection, on what each local backend really showed.

data/backend_<name>.json holds what tests/cloud/capture_backend_evidence.py read from the
local cloud on each backend (the command is in the file): the extension aliases a project
member sees, the agent list and a port's binding as an admin sees them, before and after
the port was bound. The expected backends come from Neutron's source (named in
plugins/module_utils/backend.py), not from running the detection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.portsec.openstack.plugins.module_utils import backend as detection
from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError

DATA = os.path.join(os.path.dirname(__file__), 'data')
LOCAL = ('ovn', 'ovs', 'iptables_hybrid')


def evidence(name):
    with open(os.path.join(DATA, 'backend_%s.json' % name)) as handle:
        return json.load(handle)


class FakeCloud:
    """The two reads the detection may make, counted as Cloud counts them."""

    def __init__(self, aliases=None, agents=None, error=None):
        self.aliases = aliases
        self.agents = agents
        self.error = error
        self.requests = 0
        self.calls = []

    def list_extension_aliases(self):
        self.requests += 1
        self.calls.append('extensions')
        if self.error:
            raise PortsecError(self.error)
        return list(self.aliases)

    def list_agents(self, **filters):
        self.requests += 1
        self.calls.append('agents')
        if self.error:
            raise PortsecError(self.error)
        return list(self.agents)


def member_port(data):
    """The port as a project member reads it: Neutron's policy leaves binding:vnic_type only."""
    port = {'id': 'port-1', 'name': 'vm-port'}
    for key in data['member_port_binding_keys']:
        port[key] = 'normal'
    return port


def admin_port(data, bound=True):
    port = {'id': 'port-1', 'name': 'vm-port'}
    port.update(data['admin_port_bound' if bound else 'admin_port_unbound'])
    return port


@pytest.mark.parametrize('name', LOCAL)
def test_stored_evidence_says_how_it_was_made(name):
    data = evidence(name)
    assert data['backend'] == name
    assert 'capture_backend_evidence.py' in data['command']
    # A member never sees the binding that names the mechanism driver.
    assert data['member_port_binding_keys'] == ['binding:vnic_type']


def test_ovn_l3_aliases_only_on_ovn():
    # Each alias of the list must be offered by ML2/OVN and by neither ML2/OVS driver.
    for alias in detection.OVN_L3:
        assert alias in evidence('ovn')['member_extensions'], alias
        for name in ('ovs', 'iptables_hybrid'):
            assert alias not in evidence(name)['member_extensions'], (alias, name)


def test_aliases_the_ovn_driver_withholds_only_on_ml2_ovs():
    for alias in detection.NOT_OVN_ML2:
        assert alias not in evidence('ovn')['member_extensions'], alias
        for name in ('ovs', 'iptables_hybrid'):
            assert alias in evidence(name)['member_extensions'], (alias, name)


def test_member_on_ovn_detects_ovn_with_one_request():
    data = evidence('ovn')
    cloud = FakeCloud(aliases=data['member_extensions'])
    found = detection.detect(cloud, [member_port(data)])
    assert (found['backend'], found['candidates'], found['requests']) == ('ovn', ['ovn'], 1)
    assert cloud.calls == ['extensions']
    assert 'external-gateway-multihoming' in found['evidence'][0]


@pytest.mark.parametrize('name', ['ovs', 'iptables_hybrid'])
def test_member_on_ml2_ovs_knows_it_is_not_ovn_but_not_the_firewall(name):
    # The firewall driver is the agent's configuration: nothing a member reads shows it.
    data = evidence(name)
    cloud = FakeCloud(aliases=data['member_extensions'])
    found = detection.detect(cloud, [member_port(data)])
    assert (found['backend'], found['candidates'], found['requests']) == (
        'unknown', ['ovs', 'iptables_hybrid'], 1)
    assert 'port-mac-override' in found['evidence'][0]
    assert 'cannot see which firewall driver' in found['evidence'][0]


@pytest.mark.parametrize('name', LOCAL)
def test_admin_with_a_bound_port_needs_no_request(name):
    data = evidence(name)
    cloud = FakeCloud()
    found = detection.detect(cloud, [admin_port(data)])
    assert (found['backend'], found['candidates'], found['requests']) == (name, [name], 0)
    assert cloud.calls == []


@pytest.mark.parametrize('name', LOCAL)
def test_admin_with_unbound_ports_reads_the_agents(name):
    data = evidence(name)
    cloud = FakeCloud(agents=data['admin_agents'])
    found = detection.detect(cloud, [admin_port(data, bound=False)])
    assert (found['backend'], found['requests']) == (name, 1)
    assert cloud.calls == ['agents']
    assert found['evidence'][0].startswith('no port bound; ')


@pytest.mark.parametrize('details, expected', [
    # Without bound_drivers (older Neutron), the keys each driver writes decide.
    ({'port_filter': True, 'ovs_hybrid_plug': True}, ['iptables_hybrid']),
    ({'port_filter': True, 'ovs_hybrid_plug': False}, ['ovs']),
    ({'port_filter': True, 'ovs_create_tap': True}, ['ovn']),
    # Neither: another mechanism driver, or a Neutron that wrote neither key.
    ({'port_filter': True, 'connectivity': 'l2'}, None),
    # Bound by a driver this model does not know.
    ({'bound_drivers': {'0': 'sriovnicswitch'}, 'port_filter': False}, None),
])
def test_binding_without_bound_drivers(details, expected):
    found, _text = detection.from_binding({'id': 'p', 'binding:vif_type': 'ovs',
                                           'binding:vif_details': details})
    assert found == expected


def test_ports_bound_by_different_drivers_leave_both():
    ovn = admin_port(evidence('ovn'))
    ovs = admin_port(evidence('ovs'))
    found = detection.detect(FakeCloud(), [ovn, ovs])
    assert (found['backend'], found['candidates'], found['requests']) == ('unknown', ['ovn', 'ovs'], 0)


def test_contradicting_extensions_conclude_nothing():
    # An OVN cloud whose Neutron added one of the withheld aliases to OVN's list: both kinds.
    aliases = evidence('ovn')['member_extensions'] + ['rbac-subnetpool']
    found = detection.detect(FakeCloud(aliases=aliases), [{'id': 'p'}])
    assert (found['backend'], found['candidates']) == ('unknown', list(LOCAL))
    assert 'contradictory' in found['evidence'][0]


def test_no_telling_aliases_conclude_nothing():
    # An older Neutron without the OVN L3 plugin's newer aliases and without the withheld ones.
    telling = set(detection.OVN_L3) | set(detection.NOT_OVN_ML2)
    aliases = [alias for alias in evidence('ovn')['member_extensions'] if alias not in telling]
    found = detection.detect(FakeCloud(aliases=aliases), [{'id': 'p'}])
    assert (found['backend'], found['candidates']) == ('unknown', list(LOCAL))


@pytest.mark.parametrize('agents, expected', [
    # Both mechanisms' agents: a cloud being migrated, each port may be bound by either.
    ([{'agent_type': 'OVN Controller agent'}, {'agent_type': 'Open vSwitch agent',
                                               'configurations': {'ovs_hybrid_plug': False}}],
     list(LOCAL)),
    # Hosts with different firewall drivers.
    ([{'agent_type': 'Open vSwitch agent', 'configurations': {'ovs_hybrid_plug': False}},
      {'agent_type': 'Open vSwitch agent', 'configurations': {'ovs_hybrid_plug': True}}],
     ['ovs', 'iptables_hybrid']),
    ([{'agent_type': 'DHCP agent'}], list(LOCAL)),
    ([], list(LOCAL)),
])
def test_agent_lists_that_do_not_name_one_backend(agents, expected):
    found = detection.detect(FakeCloud(agents=agents), [{'id': 'p', 'binding:vif_type': 'unbound'}])
    assert (found['backend'], found['candidates']) == ('unknown', expected)


def test_a_failed_read_concludes_nothing_and_says_why():
    found = detection.detect(FakeCloud(error='Listing Neutron agents: 403 Forbidden'),
                             [{'id': 'p', 'binding:vif_type': 'unbound'}])
    assert (found['backend'], found['candidates'], found['requests']) == ('unknown', list(LOCAL), 1)
    assert '403 Forbidden' in found['evidence'][0]


@pytest.mark.parametrize('name', LOCAL)
def test_a_given_backend_is_taken_without_a_request(name):
    cloud = FakeCloud()
    found = detection.resolve(cloud, name, [member_port(evidence('ovs'))])
    assert (found['requested'], found['backend'], found['requests'], cloud.calls) == (name, name, 0, [])
    assert 'as given' in detection.assumption(found)['detail']


def test_resolve_names_a_bad_backend():
    with pytest.raises(PortsecError, match="backend 'linuxbridge' is not one of auto, ovn"):
        detection.resolve(FakeCloud(), 'linuxbridge', [])


def test_assumption_says_what_was_seen_and_concluded():
    data = evidence('ovs')
    found = detection.detect(FakeCloud(aliases=data['member_extensions']), [member_port(data)])
    detail = detection.assumption(found)['detail']
    assert detail.startswith('Backend unknown (extensions ')
    assert 'ML2/OVS (openvswitch), ML2/OVS (iptables_hybrid)' in detail
    found = detection.detect(FakeCloud(), [admin_port(data)])
    assert detection.assumption(found)['detail'].startswith(
        'Detected ML2/OVS (openvswitch): port vm-port is bound by the Open vSwitch mechanism driver')
