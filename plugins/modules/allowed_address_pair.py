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
  resolve_names:
    description:
      - Also return the names of the port's security groups, network and server, which costs
        up to three more requests.
    type: bool
    default: false
notes:
  - "Request budget, counted against the local cloud by C(make bench): Keystone, 2 (version
    discovery and the token, as for openstack.cloud); Neutron, 1 version discovery, then for a
    port by ID one C(GET) of the port, for a port by name one list instead. So a no-op costs 4
    requests where C(openstack.cloud.port) spends 9 to 10. The project's security groups are
    listed (one request) only for their names, with O(resolve_names=true) or in diff mode.
    A change adds one C(PUT) and one C(GET) that reads the port back
    one second later (Neutron can let a concurrent write land on top of ours; see the
    reliability guide). A retry after a conflict adds one C(GET), one C(PUT) and one C(GET). Selecting by O(server) name adds one Nova request
    and lists the server's ports instead of reading the port.
    A pair that already exists is never sent."
  - "In bulk mode the reads do not grow with the number of ports: Keystone 2, Neutron 1 version
    discovery, one list of ports (two when O(ports) mixes names and IDs; one more to resolve
    O(port_filters.network) or O(port_filters.server) given by name), one list of security groups
    per project only for names (O(resolve_names) or diff mode); then one C(PUT) and one read-back
    C(GET) per port that changes (one second after the write). When that read shows other
    writers at work on the port, it is read again every two seconds until its revision holds
    still (at most 12 s), and the change is re-applied if it was undone."
  - "What the lost-update guard does not cover: when Neutron retries B(our) write (which passed
    its C(If-Match) check) on top of a write by a tool that sends no C(If-Match) (the openstack
    CLI, Horizon, C(openstack.cloud.port)), that tool's change to the same field can be lost, and
    the read-back, which finds our change in place, cannot see it. The answer to our write cannot
    tell that case from a harmless one, so the module does not warn; see the reliability guide."
  - The number of pairs per port is limited by the server option C(max_allowed_address_pair)
    (10 by default), which clients cannot read; the module explains Neutron's refusal.
  - "Neutron's default policy lets only an admin or a member of the project that owns the
    port's B(network) change allowed address pairs; a member of another project gets 403 even
    on its own port of a shared network."
  - Allowed address pairs require port security on the port. To disable port security, use
    M(portsec.openstack.port_security), which also clears the pairs.
extends_documentation_fragment:
  - portsec.openstack.port_selection
  - portsec.openstack.openstack
  - portsec.openstack.openstack.attributes
seealso:
  - module: portsec.openstack.port_security
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
  description: The port after the change (or, in check mode, as it would be).
  returned: success, one port
  type: dict
  contains:
    id:
      description: Port ID.
      type: str
    name:
      description: Port name.
      type: str
    network_id:
      description: ID of the port's network.
      type: str
    network_name:
      description: Name of the port's network.
      type: str
      returned: when O(resolve_names=true)
    project_id:
      description: ID of the project that owns the port.
      type: str
    fixed_ips:
      description: Fixed IPs of the port.
      type: list
      elements: dict
    mac_address:
      description: MAC address of the port, lower case.
      type: str
    port_security_enabled:
      description: Whether port security is enabled.
      type: bool
    security_groups:
      description:
        - Security groups bound to the port, each with C(id) and C(name).
        - The names cost one request and are filled in with O(resolve_names=true) or in diff
          mode; otherwise C(name) is null.
      type: list
      elements: dict
    allowed_address_pairs:
      description: Allowed address pairs as Neutron stores them, each with the MAC filled in.
      type: list
      elements: dict
      sample: [{"ip_address": "10.10.10.11", "mac_address": "fa:16:3e:12:34:56"}]
    revision_number:
      description: Neutron's revision of the port.
      type: int
    device_id:
      description: ID of the server (or other device) the port belongs to.
      type: str
    device_owner:
      description: Owner of the port.
      type: str
    server_name:
      description: Name of the server.
      type: str
      returned: when O(resolve_names=true)
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

from ansible_collections.portsec.openstack.plugins.module_utils.base import PortsecModule
from ansible_collections.portsec.openstack.plugins.module_utils.bulk import run_port_task
from ansible_collections.portsec.openstack.plugins.module_utils.errors import NeutronError, PortsecError
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import (
    Cloud,
    explain_update_error,
    require_extension_field,
)
from ansible_collections.portsec.openstack.plugins.module_utils.planning import (
    diff_view,
    pair_view,
    parse_requested_pairs,
    plan_pairs,
    port_label,
)
from ansible_collections.portsec.openstack.plugins.module_utils.selection import (
    BULK_KWARGS,
    bulk_argument_spec,
    selection_argument_spec,
)
from ansible_collections.portsec.openstack.plugins.module_utils.views import port_result


class AllowedAddressPairModule(PortsecModule):
    argument_spec = dict(
        selection_argument_spec(),
        pairs=dict(type='list', elements='dict', options=dict(
            ip_address=dict(type='str', required=True),
            mac_address=dict(type='str'),
        )),
        pair=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        exclusive=dict(type='bool', default=False),
        resolve_names=dict(type='bool', default=False),
        **bulk_argument_spec()
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_one_of=BULK_KWARGS['required_one_of'] + [('pairs', 'pair')],
        mutually_exclusive=BULK_KWARGS['mutually_exclusive'] + [('pairs', 'pair')],
    )

    def run(self):
        params = self.params
        if params['exclusive'] and params['state'] == 'absent':
            raise PortsecError('exclusive: true only applies with state: present (it makes the'
                               ' pairs exactly the given list). To remove pairs, use state:'
                               ' absent without exclusive.')
        if params['pair'] is not None:
            requested, warnings = parse_requested_pairs([params['pair']], label='pair')
        else:
            requested, warnings = parse_requested_pairs(
                [dict((key, value) for key, value in item.items() if value is not None)
                 for item in params['pairs']])
        if params['state'] == 'present':
            for warning in warnings:
                self.warn(warning)

        cloud = Cloud(self.conn)
        # Group names cost a list request: only for resolve_names and diff mode.
        run_port_task(self, cloud, lambda port, groups: self.apply(cloud, port, requested, groups),
                      eager_groups=False)

    def apply(self, cloud, port, requested, catalog):
        # catalog() lists the project's security groups (once per project), for names.
        """Plan and apply the pairs on one port; return its result."""
        params = self.params
        require_extension_field(port, 'allowed_address_pairs', 'allowed-address-pairs')

        def plan(current):
            result = plan_pairs(current, requested, params['state'], params['exclusive'])
            if result.added and not current.get('port_security_enabled'):
                raise PortsecError(
                    'Port %s has port security disabled, and allowed address pairs require it'
                    ' (Neutron answers 409 AddressPairAndPortSecurityRequired). A port without'
                    ' port security already accepts any address; if you want filtering, enable'
                    ' it first with portsec.openstack.port_security (port_security_enabled:'
                    ' true, with its security groups), then add the pairs.' % port_label(current))
            return result

        before = port
        try:
            after, result, attempts, conflicts = cloud.converge_port(port, plan, self.check_mode)
        except NeutronError as exc:
            raise explain_update_error(exc, port, ['allowed_address_pairs'])

        names = {}
        if params['resolve_names'] or self.diff_mode:
            names = catalog().name_map(list(after.get('security_groups') or []))
        port_mac = result.port_mac
        output = dict(
            changed=result.changed,
            port=port_result(cloud, after, names, params['resolve_names']),
            added=[pair_view(pair.to_request(), port_mac) for pair in result.added],
            removed=[pair_view(pair.raw, port_mac) for pair in result.removed],
            attempts=attempts,
            conflicts=conflicts,
        )
        if self.diff_mode:
            output['diff'] = dict(before=diff_view(before, names), after=diff_view(after, names),
                                  before_header=port_label(before), after_header=port_label(before))
        return output


def main():
    AllowedAddressPairModule()()


if __name__ == '__main__':
    main()
