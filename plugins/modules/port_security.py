#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: port_security
short_description: Manage port security and security groups of one Neutron port
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Enable or disable Neutron port security on one port and manage the security groups
    bound to that port only, like Horizon's C(Edit Port) and C(Edit Security Groups) on
    one interface of a server. Other ports of the same server are not touched.
  - Disabling port security sends one update that also clears the port's security groups
    and allowed address pairs, which Neutron otherwise refuses with a 409 conflict. The
    diff and the result show exactly what was removed.
  - Disabling port security on a port that has a floating IP, or that sits on an external
    network, opens every port of the VM to the outside. The module refuses it unless
    O(accept_exposure=true).
  - Every update carries Neutron's revision precondition (C(If-Match)), so a change made
    by another writer between our read and our write is never lost; the module re-reads,
    re-plans and retries. On a Neutron without the C(revision-if-match) extension the update
    is sent without it and the module warns (see the notes).
options:
  port_security_enabled:
    description:
      - Whether port security (anti-spoofing and security groups) is enabled on the port.
      - V(false) also removes all security groups and allowed address pairs of the port,
        in the same update.
      - Re-enabling does not bring back the C(default) group (Neutron adds it only when
        a port is created). Give O(security_groups) in the same task, or the port drops
        nearly all traffic; the module warns in that case.
      - If omitted, the current state is kept.
    type: bool
    aliases: [enabled]
  security_groups:
    description:
      - Names or IDs of security groups, applied according to O(security_groups_mode).
      - Names are looked up in the project that owns the port, so an admin who sees a
        C(default) group in every project is not stopped by an ambiguity.
      - Cannot be combined with O(port_security_enabled=false).
      - If omitted, the port's groups are kept (except when port security is disabled).
    type: list
    elements: str
  security_groups_mode:
    description:
      - V(exact) makes the port's groups exactly O(security_groups).
      - V(add) adds O(security_groups) and keeps the others.
      - V(remove) removes O(security_groups) and keeps the others.
    type: str
    choices: [exact, add, remove]
    default: exact
  accept_exposure:
    description:
      - Allow disabling port security on a port that has a floating IP or sits on an
        external network. The module then warns that every port of the VM is reachable
        from outside.
    type: bool
    default: false
notes:
  - "Requests beyond those that every changing module makes (see the note on requests):
    O(security_groups) adds one list of the project's groups, to resolve their
    names; disabling adds one list of floating IPs and one C(GET) of the network, for the
    exposure check."
  - "Neutron's default policy lets only an admin or a member of the project that owns the
    port's B(network) change O(port_security_enabled); a member of another project gets
    403 even on its own port of a shared network. Changing security groups only needs
    the right to update the port."
  - Replaces C(openstack port set --disable-port-security --no-security-group
    --no-allowed-address PORT), C(openstack port set --enable-port-security PORT) and
    C(openstack port set/unset --security-group GROUP PORT).
extends_documentation_fragment:
  - portsec.openstack.port_selection
  - portsec.openstack.port_selection.many
  - portsec.openstack.port_change
  - portsec.openstack.openstack
  - portsec.openstack.openstack.attributes
seealso:
  - module: portsec.openstack.allowed_address_pair
    description: >-
      Lets a port send from more addresses while port security stays on: the filtered
      alternative to disabling it.
  - module: portsec.openstack.reachability
    description: Says whether a flow gets through, before a change (O(portsec.openstack.reachability#module:what_if)) or after it.
  - module: openstack.cloud.port
  - module: openstack.cloud.security_group
"""

EXAMPLES = r"""
- name: Case 1 of the guide - disable port security on VM B's only port
  portsec.openstack.port_security:
    cloud: mycloud
    server: vm-b
    port_security_enabled: false
    # VM B has a floating IP: every port of it is now reachable from outside.
    accept_exposure: true
# Replaces: openstack port set --no-security-group --no-allowed-address --disable-port-security <PORT-B>

- name: Case 3 - disable port security on the database port of VM B only
  portsec.openstack.port_security:
    cloud: mycloud
    server: vm-b
    network: db-net
    port_security_enabled: false
# Replaces: openstack port set --no-security-group --disable-port-security <PORT-B2>

- name: Case 3, secure variant - keep port security on the DB port, with the DB group
  portsec.openstack.port_security:
    cloud: mycloud
    port: vm-b-db
    port_security_enabled: true
    security_groups:
      - db
# Replaces: openstack port set --enable-port-security --no-security-group --security-group db vm-b-db

- name: Re-enable port security and apply groups in the same update
  portsec.openstack.port_security:
    cloud: mycloud
    port: 2c9fd2f1-7b3e-4c0e-9d51-3d2b4e0b6a11
    port_security_enabled: true
    security_groups: [ssh, http]

- name: Add the http group to the port of VM A on the project network, keep the others
  portsec.openstack.port_security:
    cloud: mycloud
    server: vm-a
    fixed_ip: 192.168.1.11
    security_groups: [http]
    security_groups_mode: add
# Replaces: openstack port set --security-group http <PORT-A>

- name: Bulk - disable port security on every DB port of a cluster, 8 at a time
  portsec.openstack.port_security:
    cloud: mycloud
    port_filters:
      network: db-net
      name: "db-*"
    port_security_enabled: false

- name: Bulk - the same group on a list of ports
  portsec.openstack.port_security:
    cloud: mycloud
    ports: [vm-a-port, vm-b-port, 2c9fd2f1-7b3e-4c0e-9d51-3d2b4e0b6a11]
    security_groups: [ssh]
    security_groups_mode: add

- name: Remove the ssh group from one port only
  portsec.openstack.port_security:
    cloud: mycloud
    port: vm-a-port
    security_groups: [ssh]
    security_groups_mode: remove
# Replaces: openstack port unset --security-group ssh vm-a-port
"""

RETURN = r"""
results:
  description:
    - In bulk mode (O(ports) or O(port_filters)), one entry per port, with the keys RV(port),
      RV(removed), RV(attempts), RV(conflicts) and C(changed) of that port, and C(failed) and
      C(msg) for a port that failed.
  returned: in bulk mode
  type: list
  elements: dict
port:
  description:
    - The port after the change (or, in check mode, as it would be).
    - This is the port shape that every module of this collection returns (the others refer here).
  returned: success, one port
  type: dict
  contains:
    # The port shape of every module, documented here once (the other modules refer to it).
    id:
      description: Port ID.
      type: str
      sample: 2c9fd2f1-7b3e-4c0e-9d51-3d2b4e0b6a11
    name:
      description: Port name (empty when the port has none).
      type: str
      sample: vm-b-port
    project_id:
      description: ID of the project that owns the port.
      type: str
    network_id:
      description: ID of the port's network.
      type: str
    network_name:
      description:
        - Name of the port's network.
        - Filled in by M(portsec.openstack.port_security_info), and by the modules that change
          ports with O(portsec.openstack.port_security#module:resolve_names=true); null otherwise.
      type: str
    fixed_ips:
      description: Fixed IPs of the port, each with C(ip_address) and C(subnet_id).
      type: list
      elements: dict
      sample: [{"ip_address": "192.168.1.12", "subnet_id": "5b1c..."}]
    mac_address:
      description: MAC address of the port, lower case.
      type: str
      sample: fa:16:3e:12:34:56
    port_security_enabled:
      description: Whether port security is enabled.
      type: bool
    security_groups:
      description:
        - Security groups bound to the port, each with C(id) and C(name).
        - C(name) is filled in by M(portsec.openstack.port_security_info), and by the modules that
          change ports with O(portsec.openstack.port_security#module:resolve_names=true) or in diff
          mode; null otherwise.
        - M(portsec.openstack.port_security_info) adds C(stateful), and with its
          O(portsec.openstack.port_security_info#module:include_rules=true) C(rules).
      type: list
      elements: dict
      sample: [{"id": "8e1b...", "name": "ssh"}]
    allowed_address_pairs:
      description: Allowed address pairs as Neutron stores them, each with the MAC filled in.
      type: list
      elements: dict
      sample: [{"ip_address": "10.10.10.12", "mac_address": "fa:16:3e:12:34:56"}]
    revision_number:
      description: Neutron's revision of the port.
      type: int
    device_id:
      description: ID of the server (or other device) the port belongs to.
      type: str
    device_owner:
      description: Owner of the port, for example C(compute:nova).
      type: str
    server_name:
      description:
        - Name of the server the port belongs to (C(device_owner) C(compute:*)); null for a port
          of no server.
        - Filled in by M(portsec.openstack.port_security_info), and by the modules that change
          ports with O(portsec.openstack.port_security#module:resolve_names=true); null otherwise.
      type: str
removed:
  description: What the change removed from the port (or would remove, in check mode).
  returned: success, one port
  type: dict
  contains:
    security_groups:
      description: The security groups removed, with names.
      type: list
      elements: dict
      sample: [{"id": "8e1b...", "name": "default"}]
    allowed_address_pairs:
      description: The allowed address pairs removed (when port security is disabled).
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

from ansible_collections.portsec.openstack.plugins.module_utils.port_change import PortChangeModule
from ansible_collections.portsec.openstack.plugins.module_utils.security import (
    exposure_reasons,
    guard_exposure,
    plan_port_security,
    removed_view,
    validate_port_security_request,
)


class PortSecurityModule(PortChangeModule):
    options = dict(
        port_security_enabled=dict(type='bool', aliases=['enabled']),
        security_groups=dict(type='list', elements='str'),
        security_groups_mode=dict(type='str', default='exact', choices=['exact', 'add', 'remove']),
        accept_exposure=dict(type='bool', default=False),
    )
    required_one_of = [('port_security_enabled', 'security_groups')]
    extension = ('port_security_enabled', 'port-security')
    fields = ['port_security_enabled', 'security_groups']

    def prepare(self):
        validate_port_security_request(self.params['port_security_enabled'], self.params['security_groups'])

    def context(self, cloud, port, groups):
        refs = self.params['security_groups']
        context = dict(group_ids=None if refs is None else groups.resolve(refs), exposure=None)
        if self.params['port_security_enabled'] is False and port.get('port_security_enabled'):
            context['exposure'] = exposure_reasons(port, cloud.list_floating_ips(port_id=port['id']),
                                                   cloud.get_network(port['network_id']))
        return context

    def plan(self, port, context):
        params = self.params
        plan = plan_port_security(port, params['port_security_enabled'], context['group_ids'],
                                  params['security_groups_mode'])
        if plan.disables:
            plan.warnings += guard_exposure(port, context['exposure'], params['accept_exposure'],
                                            self.check_mode)
        return plan

    def report(self, plan, before, names):
        return dict(removed=removed_view(plan, before.get('mac_address'), names))


def main():
    PortSecurityModule()()


if __name__ == '__main__':
    main()
