#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: port_security_info
short_description: Show and audit the port security of Neutron ports
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Shows the port-security posture of one port, of every port of a server, of every port
    on a network, or of every port of the project, and audits it.
  - Per port it returns the port in the shape every module of this collection returns (names
    of network, server and security groups filled in), plus whether the network is external,
    the floating IPs, the groups' statefulness (and their rules on request) and the findings.
  - Each port gets C(findings), each with a stable code, a severity and a one-line
    explanation, for example port security off on a port with a floating IP (every port of
    the VM reachable from outside), port security on with no security group (all traffic
    dropped), or an allowed address pair such as C(10.10.10.11/24) that means one address
    under ML2/OVN but the whole C(/24) under ML2/OVS.
  - Never changes anything.
options:
  network:
    description:
      - Name or ID of the port's network, to choose among the ports of O(server), or among
        ports that share the name O(port).
      - Alone, it selects every port of the network, as before; that use is deprecated and
        warns. Give O(port_filters.network) instead. From version 0.2.0, O(network) only
        narrows a selection by O(port) or O(server), as in every module of this collection.
    type: str
  all_projects:
    description:
      - Without O(port), O(server), O(ports) and O(port_filters), show the ports of every project
        the cloud user can see (an admin sees all) instead of the current project only.
    type: bool
    default: false
  include_rules:
    description:
      - Also return the rules of each security group.
    type: bool
    default: false
  include_network_ports:
    description:
      - Also show ports owned by Neutron itself (router interfaces, DHCP, floating IP ports,
        C(device_owner) starting with C(network:)). Neutron does not filter them with
        security groups, so by default they are left out.
    type: bool
    default: false
  backend:
    description:
      - The Neutron backend the findings assume where they depend on it (C(PAIR_HOST_BITS),
        C(PAIR_IS_OTHER_PORT_FIXED_IP)).
      - V(auto) finds it out as O(portsec.openstack.reachability#module:backend=auto) does,
        from the ports' binding when the caller is an admin and a port is bound (no
        request), otherwise from the agent list (admin) or the extension aliases (project
        member), one request. RV(backend) says what was seen and what was concluded. When it
        stays V(unknown), those findings explain every backend's reading.
      - A backend given here is taken as given, with no request.
    type: str
    choices: [auto, ovn, ovs, iptables_hybrid]
    default: auto
notes:
  - "Cost stays flat as ports grow: the ports (one list, or the selection's one to three
    requests), at most one request to find out the backend, one list of their security groups, one of their floating IPs, one of their
    networks, one of the other ports on those networks (only when a port has allowed
    address pairs, to find pairs that clash with another port's fixed IP), and one list of
    servers (only when a port belongs to a server). Never one request per port."
  - Replaces C(openstack port show) and C(openstack security group rule list) run port by
    port, and the reading that they need.
  - "On a Neutron without some extensions: without C(port-security) a port has no
    C(port_security_enabled) (returned as null) and counts as filtered, as Neutron filters it;
    without C(stateful-security-group) every group is stateful (C(stateful=true)); without L3
    (the C(router) extension) ports have no floating IPs. See the
    L(Neutron features,https://example.invalid/portsec/openstack/docs/neutron-features.md) page."
extends_documentation_fragment:
  - portsec.openstack.port_selection
  - portsec.openstack.port_selection.many
  - portsec.openstack.openstack
  - portsec.openstack.openstack.attributes_info
seealso:
  - module: portsec.openstack.reachability
    description: Follows one flow between two ports stage by stage, where this module audits ports one by one.
  - module: portsec.openstack.port_security
  - module: portsec.openstack.allowed_address_pair
  - module: openstack.cloud.port_info
    description: Returns every field of the ports; this module returns those of port security, with findings.
"""

EXAMPLES = r"""
- name: Audit every port of the project
  portsec.openstack.port_security_info:
    cloud: mycloud
  register: audit

- name: Show the ports that have a critical or high finding
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.findings | map(attribute='detail') | list }}"
  loop: "{{ audit.ports | selectattr('worst_severity', 'in', ['critical', 'high']) | list }}"
  loop_control:
    label: "{{ item.name }}"

- name: Case 1 of the guide - what did disabling port security on VM B expose?
  portsec.openstack.port_security_info:
    cloud: mycloud
    server: vm-b
  register: vm_b

- name: Fail if a port of VM B is open to the world
  ansible.builtin.assert:
    that:
      - "'PORT_SECURITY_OFF_EXPOSED' not in (vm_b.ports | map(attribute='findings') | flatten | map(attribute='code'))"

- name: All ports on the DB network, with the rules of their groups
  portsec.openstack.port_security_info:
    cloud: mycloud
    port_filters:
      network: db-net
    include_rules: true

- name: The database ports of every server named db-*, by name pattern
  portsec.openstack.port_security_info:
    cloud: mycloud
    port_filters:
      name: db-*
"""

RETURN = r"""
ports:
  description:
    - The selected ports, each in the port shape that every module of this collection returns
      (documented once, under RV(portsec.openstack.port_security#module:port)), with the names
      of its network, server and security groups filled in, plus the keys below. Each security
      group also has C(stateful), and with O(include_rules=true) C(rules).
  returned: always
  type: list
  elements: dict
  contains:
    network_external:
      description: Whether the port's network is external (C(router:external)).
      type: bool
    floating_ips:
      description: Floating IP addresses bound to the port.
      type: list
      elements: str
    findings:
      description:
        - Audit findings, worst first. Each has C(code), C(severity) (critical, high,
          medium, low, info), C(detail) (one line), C(element) (what it is about) and
          C(backend) - for a finding that depends on the backend, the one it assumes
          (RV(backend.backend), V(unknown) when the detail gives every reading), otherwise
          null.
        - "Codes: C(PORT_SECURITY_OFF_EXPOSED) (critical: port security off with a floating
          IP or on an external network), C(PORT_SECURITY_OFF) (low), C(NO_SECURITY_GROUPS)
          (high: all traffic dropped), C(PAIR_ANY_ADDRESS) (high: C(0.0.0.0/0) or C(::/0),
          anti-spoofing off), C(PAIR_WIDE_PREFIX) (medium: wider than /16 or /48),
          C(PAIR_WHOLE_SUBNET) (low: zero host bits), C(PAIR_HOST_BITS) (medium: one address
          under ML2/OVN, the whole prefix under ML2/OVS), C(PAIR_IS_OTHER_PORT_FIXED_IP)
          (medium: OVN virtual port), C(INGRESS_FROM_ANYWHERE_WITH_FIP) (medium) and
          C(INGRESS_ALL_FROM_ANYWHERE_WITH_FIP) (high: every port from anywhere, with a
          floating IP)."
      type: list
      elements: dict
      sample: [{"code": "PAIR_HOST_BITS", "severity": "medium", "element": "pair 10.10.10.11/24",
                "backend": "ovn",
                "detail": "Pair 10.10.10.11/24 has host bits: ML2/OVN, which this cloud runs, reads it as 10.10.10.11 alone ..."}]
    worst_severity:
      description: The worst severity among the port's findings, or null.
      type: str
backend:
  description: The backend the findings assume, and how it was chosen.
  returned: always
  type: dict
  contains:
    requested:
      description: The O(backend) asked for (V(auto) or a backend's name).
      type: str
    backend:
      description: The backend found - V(ovn), V(ovs), V(iptables_hybrid), or V(unknown).
      type: str
    candidates:
      description: The backends the evidence leaves possible (one when it names the backend).
      type: list
      elements: str
    evidence:
      description: What was seen and what it shows, in words.
      type: list
      elements: str
    requests:
      description: The API requests the detection made (at most one).
      type: int
  sample: {"requested": "auto", "backend": "ovn", "candidates": ["ovn"], "requests": 1,
           "evidence": ["extensions enable-default-route-bfd, ... (the OVN L3 plugin) and none of
                         ... (which the OVN mechanism driver withholds): ML2/OVN"]}
summary:
  description: Number of ports and of findings per severity.
  returned: always
  type: dict
  sample: {"ports": 2, "critical": 1, "high": 0, "medium": 1, "low": 0, "info": 0}
requests:
  description: Number of API requests the module made (Keystone not counted).
  returned: always
  type: int
  sample: 5
"""

from ansible_collections.portsec.openstack.plugins.module_utils.backend import BACKENDS, resolve
from ansible_collections.portsec.openstack.plugins.module_utils.base import PortsecModule
from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError
from ansible_collections.portsec.openstack.plugins.module_utils.findings import (
    SEVERITIES,
    port_findings,
    sort_findings,
    worst_severity,
)
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import GROUP_FIELDS, Cloud
from ansible_collections.portsec.openstack.plugins.module_utils.selection import (
    BULK_KWARGS,
    is_bulk,
    many_argument_spec,
    select_many,
    select_ports,
    selection_argument_spec,
)
from ansible_collections.portsec.openstack.plugins.module_utils.views import is_server_port, port_view

# Options that choose the ports; without any, the current project's ports are audited.
SELECTORS = ('port', 'server', 'network', 'ports', 'port_filters', 'all_projects')
RULE_FIELDS = ('id', 'direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max',
               'remote_ip_prefix', 'remote_group_id', 'remote_address_group_id', 'description')
# Above this many ports, floating IPs are listed without a port filter (one request,
# matched locally) so that the URL stays short.
FILTER_LIMIT = 100


def select(cloud, params, project_id, deprecate):
    """The ports to audit: those of port, server, ports or port_filters, else the project's."""
    if params.get('network') and not (params.get('port') or params.get('server')):
        deprecate('network without port or server selects every port of the network; that'
                  ' use is deprecated: give port_filters: {network: %s} instead. From 0.2.0,'
                  ' network only narrows a selection by port or server, as in every other'
                  ' module.' % params['network'], version='0.2.0', collection_name='portsec.openstack')
        params = dict(params, port_filters=dict(params.get('port_filters') or {}, network=params['network']),
                      network=None)
    if params.get('port') or params.get('server'):
        return select_ports(cloud, params)  # every port of the server, or every port so named
    if is_bulk(params):
        ports, missing = select_many(cloud, params)
        if missing:
            raise PortsecError('Port(s) %s not found (or not matching port_filters): give names or'
                               ' IDs of ports the cloud user can see.' % ', '.join(missing))
        return ports
    if params.get('fixed_ip') or params.get('mac_address'):
        raise PortsecError('fixed_ip and mac_address narrow a selection by port or server:'
                           ' give port or server too.')
    if params.get('all_projects'):
        return cloud.list_ports()
    return cloud.list_ports(project_id=project_id)


def gather(cloud, ports, include_network_ports=False):
    """Everything the audit needs, in a constant number of list requests."""
    if not include_network_ports:
        ports = [port for port in ports
                 if not (port.get('device_owner') or '').startswith('network:')]
    port_ids = [port['id'] for port in ports]
    group_ids = sorted({gid for port in ports for gid in port.get('security_groups') or []})
    network_ids = sorted({port.get('network_id') for port in ports if port.get('network_id')})
    groups = {}
    networks = {}
    fips = {}
    network_ports = []
    servers = {}
    if group_ids:
        groups = {group['id']: group
                  for group in cloud.list_security_groups(id=group_ids, fields=GROUP_FIELDS)}
    if network_ids:
        networks = {net['id']: net for net in cloud.list_networks(
            id=network_ids, fields=['id', 'name', 'router:external'])}
    if ports:
        listed = (cloud.list_floating_ips(port_id=port_ids) if len(port_ids) <= FILTER_LIMIT
                  else cloud.list_floating_ips())
        wanted = set(port_ids)
        for fip in listed:
            if fip.get('port_id') in wanted:
                fips.setdefault(fip['port_id'], []).append(fip)
    if any(port.get('allowed_address_pairs') for port in ports):
        network_ports = cloud.list_ports(network_id=network_ids,
                                         fields=['id', 'name', 'network_id', 'fixed_ips'])
    if any((port.get('device_owner') or '').startswith('compute:') for port in ports):
        projects = {port.get('project_id') for port in ports}
        filters = {'all_tenants': 1} if len(projects) > 1 else {}
        try:
            servers = {server['id']: server for server in cloud.list_servers(**filters)}
        except PortsecError:
            servers = {}
    return ports, groups, networks, fips, network_ports, servers


def port_entry(port, groups, networks, fips, network_ports, servers, include_rules,
               backend='unknown'):
    """The one port shape of every module (views.port_view), plus the audit's keys."""
    network = networks.get(port.get('network_id')) or {'id': port.get('network_id')}
    port_fips = fips.get(port['id'], [])
    found = sort_findings(port_findings(port, port_fips, network, groups, network_ports,
                                        backend))
    names = {gid: (groups.get(gid) or {}).get('name') for gid in port.get('security_groups') or []}
    server_name = (servers.get(port['device_id']) or {}).get('name') if is_server_port(port) else None
    entry = port_view(port, names, network.get('name'), server_name)
    for view in entry['security_groups']:
        group = groups.get(view['id']) or {}
        view['stateful'] = group.get('stateful', True)
        if include_rules:
            view['rules'] = [{key: item.get(key) for key in RULE_FIELDS}
                             for item in group.get('security_group_rules') or []]
    entry.update(network_external=bool(network.get('router:external')),
                 floating_ips=sorted(fip.get('floating_ip_address') for fip in port_fips),
                 findings=found, worst_severity=worst_severity(found))
    return entry


def audit(cloud, params, project_id, deprecate):
    ports = select(cloud, params, project_id, deprecate)
    ports, groups, networks, fips, network_ports, servers = gather(
        cloud, ports, params.get('include_network_ports'))
    found = resolve(cloud, params.get('backend') or 'auto', ports)
    entries = [port_entry(port, groups, networks, fips, network_ports, servers,
                          params.get('include_rules'), found['backend'])
               for port in sorted(ports, key=lambda item: (item.get('name') or '', item['id']))]
    summary = {'ports': len(entries)}
    for severity in SEVERITIES:
        summary[severity] = sum(1 for entry in entries for item in entry['findings']
                                if item['severity'] == severity)
    return entries, summary, found


class PortSecurityInfoModule(PortsecModule):
    argument_spec = dict(
        selection_argument_spec(),
        all_projects=dict(type='bool', default=False),
        include_rules=dict(type='bool', default=False),
        include_network_ports=dict(type='bool', default=False),
        backend=dict(type='str', default='auto', choices=['auto'] + list(BACKENDS)),
        **many_argument_spec()
    )
    module_kwargs = dict(
        supports_check_mode=True,
        mutually_exclusive=BULK_KWARGS['mutually_exclusive'],
    )

    def run(self):
        cloud = Cloud(self.conn)
        project_id = None
        if not any(self.params.get(name) for name in SELECTORS):
            project_id = self.conn.current_project_id
        entries, summary, found = audit(cloud, self.params, project_id, self.ansible.deprecate)
        return dict(changed=False, ports=entries, summary=summary, backend=found,
                    requests=cloud.requests)


def main():
    PortSecurityInfoModule()()


if __name__ == '__main__':
    main()
