#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: allowed_address_pair
short_description: Manage the allowed address pairs of one Neutron port, pair by pair
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Add or remove allowed address pairs ("IP address filtering") on one port, like
    C(openstack port set --allowed-address) and C(openstack port unset --allowed-address),
    declaratively and without touching the pairs other tasks manage.
  - An allowed address pair authorises an address the port B(itself) may use, as source of
    what it sends and as destination of what it receives. It does not let other VMs reach
    the port; security groups decide that.
  - Pairs are compared by meaning. V(10.0.0.5) and V(10.0.0.5/32) are the same pair
    (V(/128) for IPv6), IPv6 may be written in any valid form, MAC addresses compare without
    regard to case, an omitted MAC means the port's own MAC, and order never matters.
  - V(10.10.10.11/24) and V(10.10.10.0/24) are different pairs. Neutron stores the text as
    given; ML2/OVN, the default backend, reads a prefix whose host part is not zero as that
    single address (the mask only gives the subnet size), while the ML2/OVS firewall reads it
    as the whole V(/24). Write V(10.10.10.0/24) for a whole subnet and a bare address for one
    host.
  - Every update carries Neutron's revision precondition (C(If-Match)), so pairs added by
    another writer at the same time are never lost; the module re-reads, re-plans and retries.
    On a Neutron without the C(revision-if-match) extension the update is sent without it and
    the module warns (see the notes).
options:
  pairs:
    description:
      - The allowed address pairs to ensure present or absent.
      - With O(exclusive=true) and an empty list, all pairs are removed.
      - Mutually exclusive with O(pair).
    type: list
    elements: dict
    suboptions:
      ip_address:
        description:
          - An IPv4 or IPv6 address (a single host, sent as the bare address), or a prefix in
            CIDR notation.
          - IPv4 text must be canonical (Neutron requires it), for example V(10.10.10.0/24),
            not V(10.10.10.0/255.255.255.0).
          - Multicast addresses are refused. V(0.0.0.0/0) or V(::/0) is accepted with a
            warning, as it turns off anti-spoofing for the port.
        type: str
        required: true
      mac_address:
        description:
          - The MAC address the port may use with O(pairs[].ip_address). Defaults to the
            port's own MAC.
        type: str
  pair:
    description:
      - Shorthand for one pair with the port's own MAC, the same as one element of O(pairs)
        with only O(pairs[].ip_address).
      - Mutually exclusive with O(pairs).
    type: str
  state:
    description:
      - V(present) ensures the pairs exist and keeps all others.
      - V(absent) ensures the pairs are gone and keeps all others. Stored pairs are matched
        by meaning, so removing V(10.0.0.5) removes a stored V(10.0.0.5/32).
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), make the port's pairs exactly O(pairs); others are removed.
      - Stored pairs equal to a requested one are kept as stored, never rewritten.
    type: bool
    default: false
notes:
  - A pair that already exists is never sent.
  - The number of pairs per port is limited by the server option C(max_allowed_address_pair)
    (10 by default), which clients cannot read; the module explains Neutron's refusal.
  - "Neutron's default policy lets only an admin or a member of the project that owns the
    port's B(network) change allowed address pairs; a member of another project gets 403 even
    on its own port of a shared network."
  - Allowed address pairs require port security on the port. To disable port security, use
    M(portsec.openstack.port_security), which also clears the pairs. On a Neutron without the
    C(port-security) extension every port is filtered, and pairs are managed all the same.
extends_documentation_fragment:
  - portsec.openstack.port_selection
  - portsec.openstack.port_selection.many
  - portsec.openstack.port_change
  - portsec.openstack.openstack
  - portsec.openstack.openstack.attributes
seealso:
  - module: portsec.openstack.reachability
    description: >-
      Tells whether a flow passes the source port's anti-spoofing, which is where a missing pair
      drops it; O(portsec.openstack.reachability#module:what_if.ports[].add_pairs) tries a pair first.
  - module: portsec.openstack.port_security
    description: Turns port security on, which pairs require, and manages the security groups.
  - module: openstack.cloud.port
"""

EXAMPLES = r"""
# Case 1 of the guide, completed on A's side: VM A sends from its secondary address
# 10.10.10.11, which A's own anti-spoofing drops unless A's port may use it.
- name: Let VM A's port use its secondary address
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    server: vm-a
    pair: 10.10.10.11
# Replaces: openstack port set --allowed-address ip-address=10.10.10.11 <PORT-A>

# Case 2 done right: each port may use its own VM's secondary address.
- name: Let VM B's port use 10.10.10.12
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    server: vm-b
    pairs:
      - ip_address: 10.10.10.12

# The guide's literal Case 2 command. Under ML2/OVN this lets port B use only 10.10.10.11,
# not the whole /24, and it does nothing for A's own anti-spoofing.
- name: The guide's literal command
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    port: port-b
    pair: 10.10.10.11/24

# A VRRP pair: both routers may answer for the virtual address.
- name: Keepalived virtual IP on both ports
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    port: "{{ item }}"
    pair: 192.168.1.100
  loop: [router-1-port, router-2-port]

- name: Remove one pair, keep the others
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    port: port-b
    pair: 10.10.10.11/24
    state: absent
# Replaces: openstack port unset --allowed-address ip-address=10.10.10.11/24 <PORT-B>

- name: Make the pairs exactly these (with a MAC of its own for the second)
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    port: port-b
    exclusive: true
    pairs:
      - ip_address: 10.10.10.12
      - ip_address: 10.20.0.0/16
        mac_address: fa:16:3e:aa:bb:cc

- name: Bulk - the same virtual IP on every port of a VRRP group, tagged vrrp-1
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    port_filters:
      tags: [vrrp-1]
    pair: 192.168.1.100

- name: Remove all pairs
  portsec.openstack.allowed_address_pair:
    cloud: mycloud
    port: port-b
    exclusive: true
    pairs: []
# Replaces: openstack port set --no-allowed-address <PORT-B>
"""

RETURN = r"""
results:
  description:
    - In bulk mode (O(ports) or O(port_filters)), one entry per port, with the keys RV(port),
      RV(added), RV(removed), RV(attempts), RV(conflicts) and C(changed) of that port, and
      C(failed) and C(msg) for a port that failed.
  returned: in bulk mode
  type: list
  elements: dict
port:
  description:
    - The port after the change (or, in check mode, as it would be), in the port shape that every
      module of this collection returns; its keys are documented once, under
      RV(portsec.openstack.port_security#module:port).
  returned: success, one port
  type: dict
  sample: {"id": "2c9fd2f1-...", "name": "vm-b-port", "network_id": "0d3f...", "network_name": null,
           "project_id": "5e34...", "fixed_ips": [{"ip_address": "192.168.1.12", "subnet_id": "5b1c..."}],
           "mac_address": "fa:16:3e:12:34:56", "port_security_enabled": true,
           "security_groups": [{"id": "8e1b...", "name": null}],
           "allowed_address_pairs": [{"ip_address": "10.10.10.12", "mac_address": "fa:16:3e:12:34:56"}],
           "revision_number": 7, "device_id": "5f6c...", "device_owner": "compute:nova", "server_name": null}
added:
  description: The pairs added (or that would be added, in check mode).
  returned: success, one port
  type: list
  elements: dict
  sample: [{"ip_address": "10.10.10.11", "mac_address": "fa:16:3e:12:34:56"}]
removed:
  description: The pairs removed, as they were stored.
  returned: success, one port
  type: list
  elements: dict
attempts:
  description: How many read-plan-write rounds the task took (more than one after a conflict).
  returned: success, one port
  type: int
  sample: 1
conflicts:
  description:
    - How many times another writer got in the way and the module re-read and re-planned - Neutron's
      412, its 400 C(DuplicateAddressPairInRequest) from a racing write, or a read-back that found
      the change overwritten.
  returned: success, one port
  type: int
  sample: 0
"""

from ansible_collections.portsec.openstack.plugins.module_utils.addresses import (
    plan_pairs,
    require_port_security_for,
    requested_pairs,
)
from ansible_collections.portsec.openstack.plugins.module_utils.port_change import PortChangeModule
from ansible_collections.portsec.openstack.plugins.module_utils.views import pair_view


class AllowedAddressPairModule(PortChangeModule):
    options = dict(
        pairs=dict(type='list', elements='dict', options=dict(
            ip_address=dict(type='str', required=True),
            mac_address=dict(type='str'),
        )),
        pair=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        exclusive=dict(type='bool', default=False),
    )
    required_one_of = [('pairs', 'pair')]
    mutually_exclusive = [('pairs', 'pair')]
    extension = ('allowed_address_pairs', 'allowed-address-pairs')
    fields = ['allowed_address_pairs']

    def prepare(self):
        params = self.params
        self.requested, warnings = requested_pairs(params['pair'], params['pairs'], params['state'],
                                                   params['exclusive'])
        for warning in warnings:
            self.warn(warning)

    def plan(self, port, context):
        params = self.params
        return require_port_security_for(
            plan_pairs(port, self.requested, params['state'], params['exclusive']), port)

    def report(self, plan, before, names):
        return dict(added=[pair_view(pair.to_request(), plan.port_mac) for pair in plan.added],
                    removed=[pair_view(pair.raw, plan.port_mac) for pair in plan.removed])


def main():
    AllowedAddressPairModule()()


if __name__ == '__main__':
    main()
