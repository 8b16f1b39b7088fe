#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: reachability
short_description: Explain whether Neutron lets a flow between two ports through
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Tells, from configuration alone, whether traffic from one port to another passes
    Neutron's port security and security groups, where it is dropped, and the smallest
    change that fixes it - like a reachability analyzer or connectivity test of a public
    cloud, for Neutron.
  - "The flow is checked stage by stage, in the order a packet meets them:
    C(source_anti_spoofing) (the source IP must be a fixed IP of the source port or
    covered by one of its allowed address pairs), C(source_egress_groups),
    C(destination_port_security) (ML2/OVN also checks the destination IP on the port that
    receives), C(destination_ingress_groups) (protocol, port range, ethertype,
    remote IP prefix, remote group, remote address group) and C(reply_path) (the answer
    back: stages 1 and 3 in reverse, and explicit rules for stateless groups). A port with
    port security off skips its checks in both directions."
  - An allowed address pair authorises addresses the port itself may B(use); it never
    lets other VMs reach the port. So in Case 1 of the guide, where VM A sends from a
    secondary address 10.10.10.11, stays blocked at A's anti-spoofing even after port
    security is disabled on VM B.
  - O(what_if) evaluates planned changes (an extra pair, port security off, other groups,
    an extra rule) without applying them.
  - Never changes anything.
options:
  source:
    description:
      - The sending side. Give O(source.port), or O(source.server) plus a selector when the
        server has several ports.
    type: dict
    required: true
    suboptions: &endpoint
      port:
        description: Name or ID of the port.
        type: str
      server:
        description: Name or ID of the server.
        type: str
      network:
        description: With O(source.server), the port on this network (name or ID).
        type: str
      fixed_ip:
        description: With O(source.server), the port that has this fixed IP.
        type: str
      mac_address:
        description: With O(source.server), the port that has this MAC address.
        type: str
      ip_address:
        description:
          - The address the guest uses on that port. Defaults to the port's first fixed IP
            (of the other side's IP version).
          - Give it for an address configured inside the guest, as in Cases 1
            and 2 (C(ip addr add 10.10.10.11/24 dev eth0)).
        type: str
  destination:
    description:
      - The receiving side, with the same sub-options as O(source).
    type: dict
    required: true
    suboptions: *endpoint
  protocol:
    description:
      - V(tcp), V(udp), V(icmp) (a ping, echo request and reply), or V(any) (all traffic,
        which only a rule without protocol admits).
      - Not used with O(flows).
    type: str
    choices: [tcp, udp, icmp, any]
    default: tcp
  port:
    description:
      - Destination port number, required for V(tcp) and V(udp).
      - Not with O(flows).
    type: int
  flows:
    description:
      - Several flows between the same two ports, evaluated in one call with one read of
        the ports, their groups and rules (a state's whole table at the cost of one flow).
        The result is then RV(flows), one item per flow in this order, instead of the one
        flow's keys.
      - With O(flows), O(protocol) and O(port) are not used; O(source.ip_address) and
        O(destination.ip_address) are the defaults of each flow's addresses.
    type: list
    elements: dict
    suboptions:
      name:
        description: A label for the flow, returned with its verdict and named in errors.
        type: str
      protocol:
        description: As O(protocol).
        type: str
        choices: [tcp, udp, icmp, any]
        default: tcp
      port:
        description: Destination port number, required for V(tcp) and V(udp).
        type: int
      source_ip:
        description: The address the source guest sends from; defaults to
          O(source.ip_address), then to the source port's first fixed IP.
        type: str
      destination_ip:
        description: The address the flow goes to; defaults to O(destination.ip_address),
          then to the destination port's first fixed IP.
        type: str
  backend:
    description:
      - The Neutron backend to model.
      - V(auto) finds out which backend serves the two ports, from what the caller may see,
        and never guesses. An admin sees the ports' binding (C(binding:vif_details) names the
        mechanism driver that bound the port, and C(ovs_hybrid_plug) the ML2/OVS firewall
        driver) at no extra cost, or, when neither port is bound, the agent list (one
        request). A project member sees the extension aliases (one request) - those of the
        OVN L3 plugin, and those the OVN mechanism driver withholds - which tell ML2/OVN
        from ML2/OVS but not the ML2/OVS firewall driver. RV(backend_detection) and the
        C(BACKEND) assumption say what was seen and what was concluded.
      - When the evidence does not name one backend, RV(backend) is V(unknown) and the flow
        is worked out for every backend still possible (RV(backend_detection.candidates)). A
        verdict that is the same on all of them stands; one that differs is V(unknown) with
        RV(reachable) null, and RV(backends) holds each backend's verdict.
      - V(ovn) (ML2/OVN, Neutron's default) reads a pair with host bits such as
        C(10.10.10.11/24) as that one address, also filters the destination IP on the
        receiving port, and counts a remote group's members with their fixed IPs only.
      - V(ovs) (ML2/OVS with C(firewall_driver = openvswitch)) and V(iptables_hybrid)
        (ML2/OVS with C(firewall_driver = iptables_hybrid)) read such a pair as the whole
        prefix, filter only what a port sends, and count members' pairs in remote groups.
      - "The two ML2/OVS drivers differ on stateless groups (C(stateful: false)):
        V(iptables_hybrid) honours them (no connection tracking, so a reply needs a rule
        of its own), while the openvswitch driver ignores the flag and tracks every
        connection as for a stateful group; the reply path then says
        C(REPLY_EGRESS_STATEFUL_OVS_FIREWALL) or C(REPLY_INGRESS_STATEFUL_OVS_FIREWALL)."
      - A backend given here is modelled as given, with no request to find it out.
      - Other mechanism drivers (SR-IOV, macvtap, out-of-tree ones) are not modelled.
    type: str
    choices: [auto, ovn, ovs, iptables_hybrid]
    default: auto
  what_if:
    description:
      - Planned changes to evaluate instead of the current configuration. Nothing is
        applied.
    type: dict
    suboptions:
      ports:
        description: Planned changes on the source or destination port.
        type: list
        elements: dict
        suboptions:
          port:
            description: Name or ID of the source or destination port.
            type: str
            required: true
          port_security_enabled:
            description: Planned port security state; V(false) also clears the port's
              groups and pairs, as Neutron requires.
            type: bool
          add_pairs:
            description: Allowed address pairs to add (C(ip_address), optional
              C(mac_address), or a plain address).
            type: list
            elements: raw
          remove_pairs:
            description: Allowed address pairs to remove, compared by meaning.
            type: list
            elements: raw
          security_groups:
            description: The port's groups after the change (names or IDs, in the port's
              project).
            type: list
            elements: str
      rules:
        description: Planned security group rules.
        type: list
        elements: dict
        suboptions:
          security_group:
            description: Name or ID of the group that gets the rule.
            type: str
            required: true
          direction:
            description: Rule direction.
            type: str
            choices: [ingress, egress]
            default: ingress
          ethertype:
            description: Rule ethertype.
            type: str
            choices: [IPv4, IPv6]
            default: IPv4
          protocol:
            description: Protocol name or number; omitted means any.
            type: str
          port_range_min:
            description: Lowest port (tcp/udp) or ICMP type.
            type: int
          port_range_max:
            description: Highest port (tcp/udp) or ICMP code.
            type: int
          remote_ip_prefix:
            description: Source (ingress) or destination (egress) prefix.
            type: str
          remote_group:
            description: ID of a remote security group.
            type: str
notes:
  - "Not modelled, and listed in RV(assumptions): L3 routing and NAT between networks,
    the guests (addresses and routes configured, firewalls, listening services), and
    backend quirks."
  - "Remote groups: under ML2/OVS a member counts with its fixed IPs and its allowed address
    pairs; under ML2/OVN with its fixed IPs only (the port group's address set), so a flow
    that only a remote-group rule could admit, from an address the member holds through a
    pair, is blocked with C(INGRESS_REMOTE_GROUP_PAIR_NOT_MEMBER). Measured with real packets:
    see the L(matrix page,https://example.invalid/portsec/openstack/docs/matrix.md)."
  - "Requests: each side costs one to three (a port by ID one, by name one list, a server
    its lookup plus one list of ports), then one list of the ports' security groups with
    their rules, one list of ports when a rule names a remote group, one list of address
    groups when a rule names one, and one list of the project's groups when O(what_if)
    names groups. With O(flows), these requests serve every flow."
  - "On a Neutron without some extensions: without C(port-security) a port counts as filtered
    (Neutron filters every port); without C(stateful-security-group) every group is stateful;
    without C(address-group) no rule names an address group, so none is listed. See the
    L(Neutron features,https://example.invalid/portsec/openstack/docs/neutron-features.md) page."
extends_documentation_fragment:
  - portsec.openstack.openstack
  - portsec.openstack.openstack.attributes_info
seealso:
  - module: portsec.openstack.port_security_info
    description: Audits every port of a server, network or project, without naming a flow.
  - module: portsec.openstack.allowed_address_pair
  - module: portsec.openstack.port_security
    description: Applies the change that RV(suggestions) propose.
"""

EXAMPLES = r"""
- name: Case 1 of the guide - why does VM A not reach the database on VM B?
  portsec.openstack.reachability:
    cloud: mycloud
    source:
      server: vm-a
      ip_address: 10.10.10.11   # set inside the guest with ip addr add
    destination:
      server: vm-b
      ip_address: 10.10.10.12
    protocol: tcp
    port: 5432
  register: flow

- name: Show the verdict, where it stops, and the fix
  ansible.builtin.debug:
    msg:
      - "{{ flow.summary }}"
      - "{{ flow.suggestions | map(attribute='text') | list }}"

- name: Would a pair for A's secondary address fix it? (nothing is applied)
  portsec.openstack.reachability:
    cloud: mycloud
    source: {server: vm-a, ip_address: 10.10.10.11}
    destination: {server: vm-b, ip_address: 10.10.10.12}
    port: 5432
    what_if:
      ports:
        - port: vm-a-port
          add_pairs: [10.10.10.11]

- name: Case 3 - ping from A's DB port to B's DB port, on a cloud known to run ML2/OVS
  portsec.openstack.reachability:
    cloud: mycloud
    source: {server: vm-a, network: db-net}
    destination: {server: vm-b, network: db-net}
    protocol: icmp
    backend: ovs  # default auto: found out from the ports' binding or the extensions

- name: Fail only when every backend this cloud may run blocks the flow
  portsec.openstack.reachability:
    cloud: mycloud
    source: {port: vm-a-port, ip_address: 10.10.10.11}
    destination: {port: vm-b-port, ip_address: 10.10.10.12}
    port: 5432
  register: flow
  failed_when: flow.reachable is false  # null: the backend is unknown and decides it

- name: A state's whole table in one call - the DB flow, a ping and a port no rule admits
  portsec.openstack.reachability:
    cloud: mycloud
    source: {port: vm-a-port, ip_address: 10.10.10.11}
    destination: {port: vm-b-port, ip_address: 10.10.10.12}
    flows:
      - {name: db, protocol: tcp, port: 5432}
      - {name: ping, protocol: icmp}
      - {name: other, protocol: tcp, port: 5433}
      - {name: ssh on the fixed IPs, protocol: tcp, port: 22, source_ip: 192.168.1.11, destination_ip: 192.168.1.12}
  register: table

- name: Show each flow's verdict
  ansible.builtin.debug:
    msg: "{{ table.flows | map(attribute='name') | zip(table.flows | map(attribute='summary')) | map('join', ': ') | list }}"

- name: Assert the DB flow is allowed (in a verify play)
  portsec.openstack.reachability:
    cloud: mycloud
    source: {port: vm-a-db}
    destination: {port: vm-b-db}
    port: 5432
  register: db_flow
  failed_when: db_flow.verdict != 'allowed'
"""

RETURN = r"""
reachable:
  description: True when the verdict is V(allowed), false otherwise; null when the backend is
    V(unknown) and the verdict differs between the backends still possible.
  returned: success, without O(flows)
  type: bool
verdict:
  description: V(allowed), V(blocked) (some stage drops it), or V(unknown) (nothing drops it
    for sure, but one stage depends on what is not established or not visible).
  returned: success, without O(flows)
  type: str
  sample: blocked
summary:
  description: One line for humans.
  returned: success, without O(flows)
  type: str
  sample: "10.10.10.11 -> 10.10.10.12 tcp/5432: blocked at source_anti_spoofing on port vm-a-port (address 10.10.10.11)"
backend:
  description: The backend modelled - V(ovn), V(ovs), V(iptables_hybrid), or V(unknown) when
    O(backend=auto) could not tell (the flow is then worked out for each of
    RV(backend_detection.candidates)).
  returned: success, without O(flows)
  type: str
  sample: ovn
backends:
  description:
    - Each backend the flow was worked out for (the one modelled, or every candidate when
      RV(backend) is V(unknown)), with its C(verdict), C(reachable), C(blocked_by), C(reply)
      (the reply path's result) and C(summary).
    - When the candidates disagree, RV(verdict) is V(unknown), RV(reachable) null, and a
      stage whose result differs has code C(BACKEND_DEPENDENT) and C(backends) (each
      backend's C(result), C(code), C(detail), C(element)).
  returned: success, without O(flows)
  type: dict
  sample: {"ovs": {"verdict": "allowed", "reachable": true, "blocked_by": null, "reply": "pass",
                   "summary": "10.10.10.11 -> 10.10.10.12 tcp/5432: allowed"},
           "iptables_hybrid": {"verdict": "allowed", "reachable": true, "blocked_by": null,
                               "reply": "pass",
                               "summary": "10.10.10.11 -> 10.10.10.12 tcp/5432: allowed"}}
backend_detection:
  description: How the backend was chosen.
  returned: success
  type: dict
  contains:
    requested:
      description: The O(backend) asked for (V(auto) or a backend's name).
      type: str
    backend:
      description: The backend modelled - V(ovn), V(ovs), V(iptables_hybrid), or V(unknown).
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
  sample: {"requested": "auto", "backend": "unknown", "candidates": ["ovs", "iptables_hybrid"],
           "evidence": ["extensions aap-reject-multicast, agent-resources-synced, ..., which the OVN
                         mechanism driver withholds, and none of the OVN L3 plugin's: not ML2/OVN;
                         a project member cannot see which firewall driver ML2/OVS runs"],
           "requests": 1}
flow:
  description: The flow as evaluated (ports, addresses, protocol and port).
  returned: success, without O(flows)
  type: dict
  sample: {"source_port": {"id": "6b1e...", "name": "vm-a-port"}, "source_ip": "10.10.10.11",
           "destination_port": {"id": "9c2a...", "name": "vm-b-port"},
           "destination_ip": "10.10.10.12", "protocol": "tcp", "port": 5432}
checks:
  description:
    - One check per stage, in order - C(source_anti_spoofing), C(source_egress_groups),
      C(destination_port_security), C(destination_ingress_groups), C(reply_path). All stages
      are evaluated, so every obstacle shows.
    - "Each has C(stage), C(port) (C(id), C(name)), C(result) (pass, fail, skip, unknown),
      C(code) (stable, for example C(SRC_IP_NOT_AUTHORISED), C(SRC_PAIR_HOST_BITS),
      C(EGRESS_NO_GROUPS), C(DST_IP_NOT_AUTHORISED), C(DST_NOT_FILTERED_OVS),
      C(INGRESS_NO_MATCHING_RULE), C(INGRESS_REMOTE_GROUP_PAIR_NOT_MEMBER),
      C(REPLY_EGRESS_STATELESS_NO_RULE), C(REPLY_UNFILTERED)), C(detail) and C(element) (the
      address, pair or rule that decided). C(reply_path) also has C(subchecks)."
  returned: success, without O(flows)
  type: list
  elements: dict
blocked_by:
  description: The first stage that drops the flow (C(stage), C(port), C(element), C(code)),
    or null.
  returned: success, without O(flows)
  type: dict
  sample: {"stage": "source_anti_spoofing", "port": {"id": "6b1e...", "name": "vm-a-port"},
           "element": "address 10.10.10.11", "code": "SRC_IP_NOT_AUTHORISED"}
suggestions:
  description: Concrete fixes, each with C(text) and C(task), a task that applies it
    (portsec.openstack or openstack.cloud module).
  returned: success, without O(flows)
  type: list
  elements: dict
  sample: [{"text": "Add allowed address pair 10.10.10.11 to port vm-a-port (6b1e...) (the guest sends from it).",
            "task": {"name": "Let port vm-a-port use 10.10.10.11",
                     "portsec.openstack.allowed_address_pair": {"port": "6b1e...",
                       "pairs": [{"ip_address": "10.10.10.11"}], "state": "present"}}}]
assumptions:
  description: What the verdict takes for granted (C(code), C(detail)), for example
    C(L3_NOT_MODELLED), C(GUEST_NOT_MODELLED), C(BACKEND) (which backend, and from what
    evidence), C(EPHEMERAL_PORTS).
  returned: success, without O(flows)
  type: list
  elements: dict
what_if:
  description: The planned changes that were evaluated, in words (empty without O(what_if)).
  returned: success, without O(flows)
  type: list
  elements: str
flows:
  description:
    - With O(flows), one item per flow in the order given, each with C(name) (the flow's
      label or null) and the keys a single flow returns - C(reachable), C(verdict),
      C(summary), C(backend), C(backends), C(flow), C(checks), C(blocked_by), C(suggestions),
      C(assumptions) and C(what_if).
  returned: success, with O(flows)
  type: list
  elements: dict
  sample: [{"name": "db", "verdict": "blocked", "reachable": false,
            "summary": "10.10.10.11 -> 10.10.10.12 tcp/5432: blocked at source_anti_spoofing on port vm-a-port (address 10.10.10.11)"}]
requests:
  description: Number of API requests the module made (Keystone not counted).
  returned: success
  type: int
"""

from ansible_collections.portsec.openstack.plugins.module_utils.backend import BACKENDS, resolve
from ansible_collections.portsec.openstack.plugins.module_utils.base import PortsecModule
from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError
from ansible_collections.portsec.openstack.plugins.module_utils.groups import GroupCatalog
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import GROUP_FIELDS, Cloud
from ansible_collections.portsec.openstack.plugins.module_utils.reachability import (
    evaluate_detected,
    flow_port,
    summary,
)
from ansible_collections.portsec.openstack.plugins.module_utils.selection import (
    select_one_port,
    selection_argument_spec,
)

MEMBER_FIELDS = ['id', 'name', 'network_id', 'mac_address', 'fixed_ips', 'allowed_address_pairs',
                 'security_groups', 'port_security_enabled', 'project_id']

# An endpoint is chosen as the changing modules choose a port, plus the address it uses.
ENDPOINT_OPTIONS = dict(selection_argument_spec(), ip_address=dict(type='str'))


def _endpoint(cloud, params, side):
    if not params.get('port') and not params.get('server'):
        raise PortsecError('%s needs port, or server (with network, fixed_ip or mac_address'
                           ' when it has several ports).' % side)
    if params.get('port') and params.get('server'):
        raise PortsecError('%s takes port or server, not both.' % side)
    return select_one_port(cloud, params)


def _find_port(ref, ports, index):
    for port in ports:
        if ref in (port['id'], port.get('name')):
            return port
    raise PortsecError('what_if.ports[%d].port %r is neither the source nor the destination'
                       ' port (%s).' % (index, ref, ', '.join(
                           '%s (%s)' % (port.get('name'), port['id']) for port in ports)))


def plan_what_if(cloud, what_if, src, dst):
    """The module's what_if with names turned into IDs, in the model's form."""
    if not what_if:
        return None
    # Names resolve in the source port's project; IDs are taken as given.
    groups = GroupCatalog(cloud, src.get('project_id'))
    ports = []
    for index, change in enumerate(what_if.get('ports') or []):
        port = _find_port(change['port'], [src, dst], index)
        item = {'port': port['id'],
                'port_security_enabled': change.get('port_security_enabled'),
                'add_pairs': change.get('add_pairs') or [],
                'remove_pairs': change.get('remove_pairs') or []}
        if change.get('security_groups') is not None:
            item['security_groups'] = groups.resolve(change['security_groups'], verify_ids=False)
        ports.append(item)
    rules = []
    for change in what_if.get('rules') or []:
        rule = {key: change.get(key) for key in ('direction', 'ethertype', 'protocol',
                                                 'port_range_min', 'port_range_max',
                                                 'remote_ip_prefix')}
        rule['remote_group_id'] = change.get('remote_group')
        rule['security_group_id'] = groups.resolve([change['security_group']], verify_ids=False)[0]
        rules.append(rule)
    return {'ports': ports, 'rules': rules}


def gather(cloud, src, dst, planned):
    """Groups with rules, remote group members and address groups: a few list calls."""
    group_ids = set(src.get('security_groups') or []) | set(dst.get('security_groups') or [])
    for change in (planned or {}).get('ports') or []:
        group_ids.update(change.get('security_groups') or [])
    for rule in (planned or {}).get('rules') or []:
        group_ids.add(rule['security_group_id'])
    groups = []
    if group_ids:
        groups = cloud.list_security_groups(id=sorted(group_ids), fields=GROUP_FIELDS)
    rules = [rule for group in groups for rule in group.get('security_group_rules') or []]
    rules += (planned or {}).get('rules') or []
    ports = [src] if src['id'] == dst['id'] else [src, dst]
    remote_ids = {rule['remote_group_id'] for rule in rules if rule.get('remote_group_id')}
    if remote_ids:
        projects = sorted({group.get('project_id') for group in groups if group.get('project_id')})
        filters = {'fields': MEMBER_FIELDS}
        if projects:
            filters['project_id'] = projects
        known = {port['id'] for port in ports}
        for member in cloud.list_ports(**filters):
            if member['id'] not in known and remote_ids & set(member.get('security_groups') or []):
                ports.append(member)
    address_groups = []
    address_ids = sorted({rule['remote_address_group_id'] for rule in rules
                          if rule.get('remote_address_group_id')})
    if address_ids:
        address_groups = cloud.list_address_groups(id=address_ids)
    return ports, groups, address_groups


def requested_flows(params):
    """The flows asked for: the items of flows, or the one flow of protocol and port.
    Each is (label for errors, name, protocol, port, source_ip, destination_ip)."""
    source_ip = params['source'].get('ip_address')
    destination_ip = params['destination'].get('ip_address')
    if params.get('flows') is None:
        if params['protocol'] in ('tcp', 'udp') and params.get('port') is None:
            raise PortsecError('protocol is %s but all of the following are missing: port'
                               % params['protocol'])
        return [(None, None, params['protocol'], params.get('port'), source_ip, destination_ip)]
    if not params['flows']:
        raise PortsecError('flows is empty: give at least one flow (protocol, and port for tcp'
                           ' or udp), or leave flows out and give protocol and port.')
    flows = []
    for index, item in enumerate(params['flows']):
        label = 'flows[%d]%s' % (index, ' (%s)' % item['name'] if item.get('name') else '')
        try:
            flow_port(item['protocol'], item.get('port'))
        except PortsecError as exc:
            raise PortsecError('%s: %s' % (label, exc.message))
        flows.append((label, item.get('name'), item['protocol'], item.get('port'),
                      item.get('source_ip') or source_ip,
                      item.get('destination_ip') or destination_ip))
    return flows


def explain(cloud, params, flows=None):
    """One result per requested flow (flows: requested_flows(params), worked out here when not
    given), from one read of the ports and their groups."""
    flows = requested_flows(params) if flows is None else flows
    src = _endpoint(cloud, params['source'], 'source')
    dst = _endpoint(cloud, params['destination'], 'destination')
    planned = plan_what_if(cloud, params.get('what_if'), src, dst)
    ports, groups, address_groups = gather(cloud, src, dst, planned)
    found = resolve(cloud, params['backend'], [src, dst])
    results = []
    for label, name, protocol, port, source_ip, destination_ip in flows:
        flow = {
            'source_port': src['id'],
            'destination_port': dst['id'],
            'source_ip': source_ip,
            'destination_ip': destination_ip,
            'protocol': protocol,
            'port': port,
        }
        try:
            result = evaluate_detected(flow, ports, groups, found,
                                       address_groups=address_groups, what_if=planned)
        except PortsecError as exc:
            if label is None:
                raise
            raise PortsecError('%s: %s' % (label, exc.message))
        result['summary'] = summary(result)
        if label is not None:
            result = dict(name=name, **result)
        results.append(result)
    return results, found


class ReachabilityModule(PortsecModule):
    argument_spec = dict(
        source=dict(type='dict', required=True, options=ENDPOINT_OPTIONS),
        destination=dict(type='dict', required=True, options=ENDPOINT_OPTIONS),
        protocol=dict(type='str', default='tcp', choices=['tcp', 'udp', 'icmp', 'any']),
        port=dict(type='int'),
        flows=dict(type='list', elements='dict', options=dict(
            name=dict(type='str'),
            protocol=dict(type='str', default='tcp', choices=['tcp', 'udp', 'icmp', 'any']),
            port=dict(type='int'),
            source_ip=dict(type='str'),
            destination_ip=dict(type='str'),
        )),
        backend=dict(type='str', default='auto', choices=['auto'] + list(BACKENDS)),
        what_if=dict(type='dict', options=dict(
            ports=dict(type='list', elements='dict', options=dict(
                port=dict(type='str', required=True),
                port_security_enabled=dict(type='bool'),
                add_pairs=dict(type='list', elements='raw'),
                remove_pairs=dict(type='list', elements='raw'),
                security_groups=dict(type='list', elements='str'),
            )),
            rules=dict(type='list', elements='dict', options=dict(
                security_group=dict(type='str', required=True),
                direction=dict(type='str', default='ingress', choices=['ingress', 'egress']),
                ethertype=dict(type='str', default='IPv4', choices=['IPv4', 'IPv6']),
                protocol=dict(type='str'),
                port_range_min=dict(type='int'),
                port_range_max=dict(type='int'),
                remote_ip_prefix=dict(type='str'),
                remote_group=dict(type='str'),
            )),
        )),
    )
    # protocol's port requirement is checked in requested_flows: with flows, the top-level
    # protocol (default tcp) needs no port.
    module_kwargs = dict(
        supports_check_mode=True,
        mutually_exclusive=[('flows', 'port')],
    )

    def run(self):
        flows = requested_flows(self.params)  # bad input fails before any request
        cloud = Cloud(self.conn)
        results, found = explain(cloud, self.params, flows)
        if self.params.get('flows') is None:
            return dict(changed=False, requests=cloud.requests, backend_detection=found,
                        **results[0])
        return dict(changed=False, requests=cloud.requests, backend_detection=found,
                    flows=results)


def main():
    ReachabilityModule()()


if __name__ == '__main__':
    main()
