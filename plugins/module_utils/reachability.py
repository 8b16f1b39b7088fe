# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The traffic model: would Neutron let this flow through, and if not, why?

Pure code (no SDK import). Inputs are the plain dicts Neutron returns: ports,
security groups with their ``security_group_rules`` and ``stateful`` flag,
address groups. evaluate() walks the stages a packet meets between two ports:

1. source_anti_spoofing        what the source port may send from
2. source_egress_groups        the source port's egress rules
3. destination_port_security   what the destination port may receive (OVN)
4. destination_ingress_groups  the destination port's ingress rules
5. reply_path                  the answer, back through stages 1 and 3 reversed,
                               and through explicit rules for stateless groups

Backends: ``ovn`` (ML2/OVN), and ML2/OVS with either of its firewall drivers,
``ovs`` (``firewall_driver = openvswitch``) and ``iptables_hybrid``. The two ML2/OVS
drivers read pairs, destinations and remote groups alike; they differ on stateless
groups (check_reply).

Where the model follows a backend detail, the source is named next to it:
OVN's ``port_security`` column (ovn-nb(5), Logical_Switch_Port), neutron
``neutron/common/ovn/acl.py`` (how a rule becomes an OVN ACL match),
neutron ``agent/linux/openvswitch_firewall/firewall.py`` and
``agent/linux/iptables_firewall.py`` (the ML2/OVS drivers) and neutron
``db/securitygroups_rpc_base.py`` (remote group members under ML2/OVS).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.addresses import (
    parse_requested_pairs,
    plan_pairs,
    stored_pairs,
)
from ansible_collections.portsec.openstack.plugins.module_utils.backend import (
    BACKEND_NAMES,
    BACKENDS,
    ML2_OVS,
    assumption,
)
from ansible_collections.portsec.openstack.plugins.module_utils.views import port_label, port_security_on

PROTOCOLS = ('tcp', 'udp', 'icmp', 'any')
STAGES = (
    'source_anti_spoofing',
    'source_egress_groups',
    'destination_port_security',
    'destination_ingress_groups',
    'reply_path',
)

PASS = 'pass'
FAIL = 'fail'
SKIP = 'skip'
UNKNOWN = 'unknown'
# A remote-group rule that would match if OVN counted members' pair addresses.
PAIR_NOT_MEMBER = 'pair-not-member'

# Linux's default net.ipv4.ip_local_port_range: the client side of a TCP/UDP
# connection, which a stateless reply rule has to admit.
EPHEMERAL_PORTS = (32768, 60999)

# ICMP echo request/reply types (the flow "icmp" is a ping).
ICMP_ECHO = {4: (8, 0), 6: (128, 129)}

_PROTOCOL_NAMES = {
    'tcp': 'tcp', '6': 'tcp',
    'udp': 'udp', '17': 'udp',
    'icmp': 'icmp', '1': 'icmp', 'ipv6-icmp': 'icmp', 'icmpv6': 'icmp', '58': 'icmp',
    'any': None, '': None,
}


# -- small helpers ------------------------------------------------------------------

def _ip(value, what):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise PortsecError('%s %r is not a valid IP address.' % (what, value))


def port_ref(port):
    return {'id': port.get('id'), 'name': port.get('name') or ''}


def _fixed_ips(port):
    result = []
    for item in port.get('fixed_ips') or []:
        try:
            result.append(ipaddress.ip_address(item.get('ip_address')))
        except ValueError:
            continue
    return result


def _port_mac(port):
    return (port.get('mac_address') or '').lower()


def pair_covers(pair_address, ip, backend):
    """Does a stored pair authorise the single address ip?

    OVN (ovn-nb(5), port_security): "if the host part is zero, [the host] is
    allowed to use any address in the subnet; if the host part is nonzero, the
    mask simply indicates the size of the subnet" - 10.10.10.11/24 is 10.10.10.11
    alone. Both ML2/OVS drivers read every pair as a network, the whole /24: the
    openvswitch driver masks nw_src/arp_spa with netaddr.IPNetwork (firewall.py), the
    iptables_hybrid driver writes ``-s 10.10.10.11/24`` (iptables_firewall.py
    _setup_spoof_filter_chain), which iptables masks, and the agent's ARP protection
    masks arp_spa (ovs_neutron_agent.py setup_arp_spoofing_protection).
    """
    if pair_address.ip is None or pair_address.version != ip.version:
        return False
    if pair_address.is_host:
        return pair_address.ip == ip
    if backend == 'ovn' and pair_address.has_host_bits:
        return pair_address.ip == ip
    return ip in pair_address.network


def authorised_address(port, ip, backend, mac=None):
    """How the port's own addresses authorise ip: (how, element) or (None, hint).

    how is 'fixed' or 'pair'; hint names a pair that would cover ip under the
    other backend (a prefix with host bits), to explain the difference.
    """
    port_mac = _port_mac(port)
    mac = (mac or port_mac).lower()
    if mac == port_mac and ip in _fixed_ips(port):
        return 'fixed', str(ip)
    hint = None
    for pair in stored_pairs(port):
        pair_mac = pair.mac or port_mac
        if pair_mac != mac:
            continue
        if pair_covers(pair.address, ip, backend):
            return 'pair', pair.address.text()
        other = 'ovs' if backend == 'ovn' else 'ovn'  # the other reading of host bits
        if pair_covers(pair.address, ip, other):
            hint = pair.address.text()
    return None, hint


# -- what if --------------------------------------------------------------------------

def apply_what_if(ports, security_groups, what_if):
    """Ports and groups as they would be after the planned changes.

    what_if = {'ports': [{'port': id, 'port_security_enabled': bool,
    'add_pairs': [...], 'remove_pairs': [...], 'security_groups': [ids]}],
    'rules': [rule dicts with security_group_id]}. Disabling port security
    clears the port's groups and pairs, as the one update Neutron accepts does.
    Returns (ports, security_groups, notes): copies, the inputs stay as they are.
    """
    ports = [dict(port) for port in ports]
    groups = [dict(group, security_group_rules=list(group.get('security_group_rules') or []))
              for group in security_groups]
    notes = []
    if not what_if:
        return ports, groups, notes
    _what_if_ports(ports, what_if.get('ports') or [], notes)
    _what_if_rules(groups, what_if.get('rules') or [], notes)
    return ports, groups, notes


# what_if key, pair state, note: removals first, then additions.
_PAIR_CHANGES = (
    ('remove_pairs', 'absent', 'removes pair(s) %s from port %s'),
    ('add_pairs', 'present', 'adds pair(s) %s to port %s'),
)


def _what_if_targets(entries, known, key, unknown):
    """(index, entry, known[entry[key]]) for each entry, in order; PortsecError with the
    message unknown % (index, entry[key]) at the first entry whose target is not known."""
    for index, entry in enumerate(entries):
        target = known.get(entry.get(key))
        if target is None:
            raise PortsecError(unknown % (index, entry.get(key)))
        yield index, entry, target


def _what_if_ports(ports, changes, notes):
    """Apply what_if.ports to the port copies, in place."""
    by_id = {port.get('id'): port for port in ports}
    for index, change, port in _what_if_targets(
            changes, by_id, 'port', 'what_if.ports[%d]: port %r is not one of the ports of the'
            ' flow or their remote groups.'):
        _change_pairs(port, change, notes)
        if change.get('security_groups') is not None:
            port['security_groups'] = list(change['security_groups'])
            notes.append('sets the security groups of port %s to %s' % (
                port_label(port), ', '.join(change['security_groups']) or 'none'))
        _change_port_security(port, change, index, notes)
        if port.get('allowed_address_pairs') and not port_security_on(port):
            raise PortsecError(
                'what_if.ports[%d]: port %s has port security disabled, and allowed address'
                ' pairs require it: add port_security_enabled: true.' % (index, port_label(port)))


def _change_pairs(port, change, notes):
    for key, state, note in _PAIR_CHANGES:
        if change.get(key):
            requested, _warnings = parse_requested_pairs(change[key])
            plan = plan_pairs(port, requested, state=state)
            port['allowed_address_pairs'] = plan.request()
            notes.append(note % (
                ', '.join(pair.address.text() for pair in requested), port_label(port)))


def _change_port_security(port, change, index, notes):
    enabled = change.get('port_security_enabled')
    if enabled is None:
        return
    port['port_security_enabled'] = bool(enabled)
    if not enabled:
        if change.get('add_pairs') or change.get('security_groups'):
            raise PortsecError(
                'what_if.ports[%d]: a port without port security can have neither'
                ' allowed address pairs nor security groups (Neutron refuses them).'
                % index)
        port['security_groups'] = []
        port['allowed_address_pairs'] = []
    notes.append('%s port security on port %s' % (
        'enables' if enabled else 'disables', port_label(port)))


def _what_if_rules(groups, rules, notes):
    """Append what_if.rules to the group copies, in place."""
    groups_by_id = {group.get('id'): group for group in groups}
    for index, rule, group in _what_if_targets(
            rules, groups_by_id, 'security_group_id',
            'what_if.rules[%d]: security group %r is not known here.'):
        rule = dict(rule)
        rule.setdefault('id', 'what-if-rule-%d' % index)
        rule.setdefault('ethertype', 'IPv4')
        group['security_group_rules'].append(rule)
        notes.append('adds %s rule %s to group %s' % (
            rule.get('direction'), describe_rule(rule), group.get('name') or group.get('id')))


# -- security group rules -------------------------------------------------------------

def rule_protocol(rule):
    """'tcp', 'udp', 'icmp', None (any) or 'proto <n>' (neutron acl.py's mapping)."""
    value = rule.get('protocol')
    if value is None:
        return None
    text = str(value).lower()
    if text in _PROTOCOL_NAMES:
        return _PROTOCOL_NAMES[text]
    return 'proto %s' % text


def describe_rule(rule):
    protocol = rule_protocol(rule)
    parts = [rule.get('ethertype') or 'IPv4', protocol or 'any protocol']
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if protocol in ('tcp', 'udp') and (low is not None or high is not None):
        parts.append('port %s' % low if low == high else 'ports %s-%s' % (
            low if low is not None else 1, high if high is not None else 65535))
    elif protocol == 'icmp' and low is not None:
        parts.append('type %s%s' % (low, ' code %s' % high if high is not None else ''))
    if rule.get('remote_ip_prefix'):
        parts.append(('from %s' if rule.get('direction') == 'ingress' else 'to %s')
                     % rule['remote_ip_prefix'])
    elif rule.get('remote_group_id'):
        parts.append(('from group %s' if rule.get('direction') == 'ingress' else 'to group %s')
                     % rule['remote_group_id'])
    elif rule.get('remote_address_group_id'):
        parts.append(('from address group %s' if rule.get('direction') == 'ingress'
                      else 'to address group %s') % rule['remote_address_group_id'])
    else:
        parts.append('from anywhere' if rule.get('direction') == 'ingress' else 'to anywhere')
    return ' '.join(parts)


def _protocol_matches(rule, packet):
    """Protocol and port/type match, as neutron acl.py's acl_protocol_and_ports builds it:
    tcp/udp port_range_min..max on the destination port; icmp port_range_min is the type
    and port_range_max the code; no protocol matches everything."""
    protocol = rule_protocol(rule)
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if packet['protocol'] == 'any':
        # "any" asks for all traffic: only a rule without protocol admits all of it.
        return protocol is None
    if protocol is None:
        return True
    if protocol != packet['protocol']:
        return False
    if protocol in ('tcp', 'udp'):
        lowest, highest = packet['ports']
        return ((low is None or low <= lowest) and (high is None or highest <= high))
    if protocol == 'icmp':
        icmp_type, icmp_code = packet['icmp']
        return (low is None or low == icmp_type) and (high is None or high == icmp_code)
    return False


def _remote_members(group_id, ports, backend, ip):
    """Is ip an address of a port in group_id? True, False or PAIR_NOT_MEMBER.

    ML2/OVS, both drivers: members count with their fixed IPs and their pairs (neutron
    db/securitygroups_rpc_base.py, _select_ips_for_remote_group, each as
    IPNetwork(ip).cidr; the agent puts them in its flows or a hash:net ipset). OVN matches
    the port group's address set ($pg_<id>_ip4, neutron acl.py acl_remote_group_id),
    which northd fills from the members' Logical_Switch_Port addresses: the fixed
    IPs only (ovn_client puts pairs in port_security, not in addresses). So under
    OVN an address that a member holds only through a pair is not a member:
    PAIR_NOT_MEMBER (measured with real packets: docs/matrix.md).
    """
    pair_only = False
    for port in ports:
        if group_id not in (port.get('security_groups') or []):
            continue
        if ip in _fixed_ips(port):
            return True
        for pair in stored_pairs(port):
            if pair.address.ip is None or pair.address.version != ip.version:
                continue
            if backend in ML2_OVS and ip in pair.address.network:
                return True
            if backend == 'ovn' and pair_covers(pair.address, ip, 'ovn'):
                pair_only = True
    return PAIR_NOT_MEMBER if pair_only else False


def _rule_matches(rule, packet, ports, address_groups, backend):
    """True, False or UNKNOWN for one rule against one packet in the rule's direction."""
    if rule.get('direction') != packet['direction']:
        return False
    if (rule.get('ethertype') or 'IPv4') != ('IPv4' if packet['version'] == 4 else 'IPv6'):
        return False
    if not _protocol_matches(rule, packet):
        return False
    remote = packet['remote_ip']
    if rule.get('remote_ip_prefix'):
        # OVN and OVS both use the normalised network (neutron acl.py acl_remote_ip_prefix).
        prefix = ipaddress.ip_network(rule['remote_ip_prefix'], strict=False)
        if prefix.version != remote.version or remote not in prefix:
            return False
    if rule.get('remote_group_id'):
        member = _remote_members(rule['remote_group_id'], ports, backend, remote)
        if member is not True:
            return member
    if rule.get('remote_address_group_id'):
        group = address_groups.get(rule['remote_address_group_id'])
        if group is None:
            return UNKNOWN
        inside = False
        for text in group.get('addresses') or []:
            network = ipaddress.ip_network(text, strict=False)
            if network.version == remote.version and remote in network:
                inside = True
        if not inside:
            return False
    return True


def _group_names(port, groups):
    return ', '.join((groups.get(gid) or {}).get('name') or gid
                     for gid in port.get('security_groups') or []) or 'none'


def evaluate_groups(port, packet, groups, ports, address_groups, backend):
    """One port's security groups against a packet: (result, code, detail, element)."""
    prefix = 'EGRESS' if packet['direction'] == 'egress' else 'INGRESS'
    if not port_security_on(port):
        return (SKIP, '%s_PORT_SECURITY_DISABLED' % prefix,
                'Port security is off on port %s: no security group filters it.' % port_label(port),
                None)
    group_ids = list(port.get('security_groups') or [])
    if not group_ids:
        return (FAIL, '%s_NO_GROUPS' % prefix,
                'Port %s has port security on and no security group: Neutron drops all its'
                ' IP traffic in both directions (OVN: the neutron_pg_drop port group).'
                % port_label(port), 'no security group')
    matched, unknown, pair_rule = _scan_rules(group_ids, packet, groups, ports,
                                              address_groups, backend)
    if matched is not None:
        gid, group, rule = matched
        return (PASS, '%s_RULE_MATCH' % prefix,
                'Group %s admits it: rule %s (%s).' % (
                    group.get('name') or gid, rule.get('id'), describe_rule(rule)),
                'rule %s in group %s' % (rule.get('id'), group.get('name') or gid))
    return _not_admitted(port, packet, groups, group_ids, prefix, unknown, pair_rule)


def _scan_rules(group_ids, packet, groups, ports, address_groups, backend):
    """The visible groups' rules in order: ((gid, group, rule) of the first that admits
    the packet, None, None), or (None, the first (group, rule) that hangs on an unseen
    address group, the first (group, rule) that only a member's pair keeps from matching)."""
    unknown = None
    pair_rule = None
    for gid in group_ids:
        group = groups.get(gid)
        if group is None:
            continue
        for rule in group.get('security_group_rules') or []:
            match = _rule_matches(rule, packet, ports, address_groups, backend)
            if match is True:
                return (gid, group, rule), None, None
            if match == UNKNOWN and unknown is None:
                unknown = (group, rule)
            if match == PAIR_NOT_MEMBER and pair_rule is None:
                pair_rule = (group, rule)
    return None, unknown, pair_rule


def _not_admitted(port, packet, groups, group_ids, prefix, unknown, pair_rule):
    """Why no rule admits the packet, most uncertain cause first."""
    missing = [gid for gid in group_ids if gid not in groups]
    if unknown is not None:
        group, rule = unknown
        detail = ('Only rule %s of group %s could admit it (%s), and that address group'
                  ' was not visible.'
                  % (rule.get('id'), group.get('name') or group.get('id'), describe_rule(rule)))
        return (UNKNOWN, '%s_REMOTE_ADDRESS_GROUP_UNKNOWN' % prefix, detail, 'rule %s in group %s' % (
            rule.get('id'), group.get('name') or group.get('id')))
    if missing:
        return (UNKNOWN, '%s_GROUP_NOT_VISIBLE' % prefix,
                'No visible rule of port %s admits it, and group(s) %s could not be read.'
                % (port_label(port), ', '.join(missing)), 'group %s' % missing[0])
    if pair_rule is not None:
        group, rule = pair_rule
        return (FAIL, '%s_REMOTE_GROUP_PAIR_NOT_MEMBER' % prefix,
                'Only rule %s of group %s could admit it (%s), and %s belongs to a member of'
                ' remote group %s only through an allowed address pair. Under OVN a remote'
                ' group matches its members\' fixed IPs only (the port group\'s address set),'
                ' not their pairs: admit the pair\'s address with a remote_ip_prefix rule.'
                % (rule.get('id'), group.get('name') or group.get('id'), describe_rule(rule),
                   packet['remote_ip'], rule.get('remote_group_id')),
                'rule %s in group %s' % (rule.get('id'), group.get('name') or group.get('id')))
    return (FAIL, '%s_NO_MATCHING_RULE' % prefix,
            'No %s rule of group(s) %s on port %s admits %s.'
            % (packet['direction'], _group_names(port, groups), port_label(port), describe_packet(packet)),
            'security groups %s' % _group_names(port, groups))


def describe_packet(packet):
    protocol = packet['protocol']
    if protocol == 'any':
        what = 'all traffic'
    elif protocol == 'icmp':
        what = 'icmp type %d' % packet['icmp'][0]
    elif packet['ports'][0] == packet['ports'][1]:
        what = '%s port %d' % (protocol, packet['ports'][0])
    else:
        what = '%s ports %d-%d' % ((protocol,) + tuple(packet['ports']))
    return '%s %s %s' % (what, 'to' if packet['direction'] == 'egress' else 'from',
                         packet['remote_ip'])


# -- stages ---------------------------------------------------------------------------

def _check(stage, port, result, code, detail, element=None):
    return {'stage': stage, 'port': port_ref(port), 'result': result, 'code': code,
            'detail': detail, 'element': element}


def _own_address_check(stage, port, ip, how, element, code_prefix, host_bits, backend=None,
                       name_reading=False):
    """What authorised_address's (how, element) says for stages 1 and 3: PASS for a fixed IP
    or a covering pair, FAIL (detail: host_bits, with the fields port, ip, pair, host and
    network) for a pair with host bits that only the other backend reads as covering ip,
    None otherwise. name_reading: say which backend's reading of the pair (check_source)."""
    if how == 'fixed':
        return _check(stage, port, PASS, '%s_IP_FIXED' % code_prefix,
                      '%s is a fixed IP of port %s.' % (ip, port_label(port)), element)
    if how == 'pair':
        return _check(stage, port, PASS, '%s_IP_IN_PAIR' % code_prefix,
                      '%s is covered by allowed address pair %s of port %s%s.'
                      % (ip, element, port_label(port),
                         ', as %s reads it' % BACKEND_NAMES[backend] if name_reading else ''),
                      'pair %s' % element)
    if element is not None:
        return _check(stage, port, FAIL, '%s_PAIR_HOST_BITS' % code_prefix,
                      host_bits % {'port': port_label(port), 'ip': ip, 'pair': element,
                                   'host': element.split('/')[0],
                                   'network': ipaddress.ip_network(element, strict=False)},
                      'pair %s' % element)
    return None


def check_source(port, ip, mac, backend, stage='source_anti_spoofing', code_prefix='SRC'):
    """Stage 1: may the port send from ip (and from mac)? Also governs its ARP/ND."""
    if not port_security_on(port):
        return _check(stage, port, SKIP, '%s_PORT_SECURITY_DISABLED' % code_prefix,
                      'Port security is off on port %s: no anti-spoofing.' % port_label(port))
    how, element = authorised_address(port, ip, backend, mac)
    own = _own_address_check(
        stage, port, ip, how, element, code_prefix, backend=backend, name_reading=True,
        host_bits='Port %(port)s may not send from %(ip)s: its pair %(pair)s has host bits, so OVN'
                  ' reads it as %(host)s alone (the mask only gives the subnet size), while ML2/OVS'
                  ' would read the whole %(network)s. Anti-spoofing drops the packets and the'
                  ' ARP/ND that carry %(ip)s.')
    if own is not None:
        return own
    if mac and mac.lower() != _port_mac(port) and ip in _fixed_ips(port):
        return _check(stage, port, FAIL, '%s_MAC_NOT_AUTHORISED' % code_prefix,
                      'Port %s may not send from MAC %s: it is neither the port MAC nor the'
                      ' MAC of an allowed address pair for %s.' % (port_label(port), mac, ip),
                      'MAC %s' % mac)
    return _check(
        stage, port, FAIL, '%s_IP_NOT_AUTHORISED' % code_prefix,
        'Port %s may not send from %s: it is neither a fixed IP of the port (%s) nor covered'
        ' by one of its allowed address pairs (%s). Anti-spoofing drops these packets and'
        ' the ARP/ND that announces %s.'
        % (port_label(port), ip, ', '.join(str(a) for a in _fixed_ips(port)) or 'none',
           ', '.join(p.address.text() for p in stored_pairs(port)) or 'none', ip),
        'address %s' % ip)


def check_destination(port, ip, backend, stage='destination_port_security', code_prefix='DST'):
    """Stage 3: may the port receive packets addressed to ip?

    OVN checks the outport's port_security both ways (ovn-nb(5)); both ML2/OVS
    drivers only check what a port sends and deliver by destination MAC (the
    openvswitch driver finds the receiving port by dl_dst, firewall.py initialize_port_flows;
    iptables_hybrid's per-port ingress chain holds the group rules only).
    """
    if not port_security_on(port):
        return _check(stage, port, SKIP, '%s_PORT_SECURITY_DISABLED' % code_prefix,
                      'Port security is off on port %s: %s delivers any address to it.'
                      % (port_label(port), BACKEND_NAMES[backend]))
    if backend in ML2_OVS:
        how, _element = authorised_address(port, ip, 'ovn')
        return _check(stage, port, PASS, '%s_NOT_FILTERED_OVS' % code_prefix,
                      'ML2/OVS does not filter the destination IP of what a port receives'
                      ' (it delivers by MAC)%s.' % (
                          '' if how else '; %s is not an address of port %s, which OVN would'
                          ' drop' % (ip, port_label(port))))
    how, element = authorised_address(port, ip, backend)
    own = _own_address_check(
        stage, port, ip, how, element, code_prefix,
        host_bits='OVN drops packets to %(ip)s on port %(port)s: its pair %(pair)s has host bits,'
                  ' so it authorises %(host)s alone, not the whole %(network)s.')
    if own is not None:
        return own
    return _check(
        stage, port, FAIL, '%s_IP_NOT_AUTHORISED' % code_prefix,
        'OVN drops packets to %s on port %s: it is neither a fixed IP of the port nor covered'
        ' by one of its allowed address pairs (port_security of the outport).'
        % (ip, port_label(port)), 'address %s' % ip)


# What lets the reply of an admitted connection through, per backend.
_CONNTRACK = {
    'ovn': 'OVN allow-related ACLs',
    'ovs': "the openvswitch firewall's +est flows",
    'iptables_hybrid': 'iptables RELATED,ESTABLISHED',
}


def _is_stateless(port, groups):
    """A port whose groups are stateless (stateful: false) gets no conntrack replies
    (except under the openvswitch driver, see _reply_groups). Neutron refuses a port that
    mixes stateful and stateless groups."""
    # Not modelled: iptables_hybrid reads the flag from the first rule of the port's first group
    # (_get_port_sg_rules), so a port whose first group has no rule at all stays tracked.
    bound = [groups[gid] for gid in port.get('security_groups') or [] if gid in groups]
    return bool(bound) and any(group.get('stateful') is False for group in bound)


def _reply_packet(flow, direction, remote_ip):
    protocol = flow['protocol']
    packet = {'direction': direction, 'protocol': protocol, 'version': flow['version'],
              'remote_ip': remote_ip, 'ports': EPHEMERAL_PORTS, 'icmp': None}
    if protocol == 'icmp':
        packet['icmp'] = (ICMP_ECHO[flow['version']][1], 0)
    return packet


def check_reply(flow, src, dst, groups, ports, address_groups, backend):
    """Stage 5: the reply from dst back to src. Returns (check, subchecks)."""
    subchecks = []
    sub = check_source(dst, flow['destination_ip'], None, backend,
                       stage='reply_path', code_prefix='REPLY_SRC')
    subchecks.append(sub)
    for port, direction, remote in ((dst, 'egress', flow['source_ip']),
                                    (src, 'ingress', flow['destination_ip'])):
        subchecks.append(_reply_groups(flow, port, direction, remote, groups, ports,
                                       address_groups, backend))
    subchecks.append(check_destination(src, flow['source_ip'], backend,
                                       stage='reply_path', code_prefix='REPLY_DST'))
    return _reply_outcome(flow, dst, subchecks), subchecks


def _reply_groups(flow, port, direction, remote, groups, ports, address_groups, backend):
    """The reply against port's groups: leaving dst (egress) or reaching src (ingress)."""
    prefix = 'REPLY_%s' % direction.upper()
    if not port_security_on(port):
        return _check('reply_path', port, SKIP, '%s_PORT_SECURITY_DISABLED' % prefix,
                      'Port security is off on port %s.' % port_label(port))
    if not port.get('security_groups'):
        return _check(
            'reply_path', port, FAIL, '%s_NO_GROUPS' % prefix,
            'Port %s has no security group: its %s drops the reply.'
            % (port_label(port), direction), 'no security group')
    stateless = _is_stateless(port, groups)
    if stateless and backend == 'ovs':
        # The openvswitch driver never reads the flag: "stateful" is nowhere in neutron
        # agent/linux/openvswitch_firewall/firewall.py; every IP packet goes through
        # conntrack (ct() in _initialize_egress and _initialize_ingress) and
        # _initialize_tracked_ingress/_egress accept +est replies. Only iptables_hybrid reads
        # it (iptables_firewall.py _get_jump_rules, _are_sg_rules_stateful: -j CT --notrack).
        return _check(
            'reply_path', port, PASS, '%s_STATEFUL_OVS_FIREWALL' % prefix,
            'The groups of port %s are stateless (%s), but the openvswitch firewall driver'
            ' ignores stateful: false and tracks every connection: conntrack lets the reply'
            ' of an admitted connection through, as for a stateful group.'
            % (port_label(port), _group_names(port, groups)))
    if not stateless:
        return _check(
            'reply_path', port, PASS, '%s_STATEFUL' % prefix,
            'The groups of port %s are stateful: conntrack lets the reply of an admitted'
            ' connection through (%s).' % (port_label(port), _CONNTRACK[backend]))
    packet = _reply_packet(flow, direction, remote)
    result, code, detail, element = evaluate_groups(port, packet, groups, ports,
                                                    address_groups, backend)
    code = code.replace('EGRESS', 'REPLY_EGRESS').replace('INGRESS', 'REPLY_INGRESS')
    if result == FAIL:
        code = '%s_STATELESS_NO_RULE' % prefix
        detail = ('Port %s has stateless groups (%s): the reply needs an explicit %s rule,'
                  ' and none admits %s.' % (port_label(port), _group_names(port, groups),
                                            direction, describe_packet(packet)))
    return _check('reply_path', port, result, code, detail, element)


def _reply_outcome(flow, dst, subchecks):
    """The reply_path check: the first failed subcheck, else the first unknown, else a pass."""
    for wanted in (FAIL, UNKNOWN):
        for sub in subchecks:
            if sub['result'] == wanted:
                return dict(sub, subchecks=subchecks)
    if all(sub['result'] == SKIP for sub in subchecks):
        check = _check('reply_path', dst, PASS, 'REPLY_UNFILTERED',
                       'Port security is off on both ports: nothing filters the reply.')
    else:
        check = _check('reply_path', dst, PASS, 'REPLY_ALLOWED',
                       'The reply from %s passes: %s' % (
                           flow['destination_ip'],
                           ' '.join(sub['detail'] for sub in subchecks if sub['result'] == PASS)))
    check['subchecks'] = subchecks
    return check


# -- flow -----------------------------------------------------------------------------

def _pick_ip(port, version, what):
    for ip in _fixed_ips(port):
        if version is None or ip.version == version:
            return ip
    raise PortsecError('Port %s has no %sfixed IP to use as %s: give it explicitly.'
                       % (port_label(port), 'IPv%d ' % version if version else '', what))


def flow_port(protocol, port):
    """The destination port of a tcp or udp flow (1-65535), None for icmp and any."""
    if protocol not in ('tcp', 'udp'):
        return None
    if port is None:
        raise PortsecError('A %s flow needs the destination port number (port).' % protocol)
    port = int(port)
    if not 1 <= port <= 65535:
        raise PortsecError('port %d is not between 1 and 65535.' % port)
    return port


def normalise_flow(flow, src, dst):
    protocol = (flow.get('protocol') or 'tcp').lower()
    if protocol not in PROTOCOLS:
        raise PortsecError('protocol %r is not one of %s.' % (protocol, ', '.join(PROTOCOLS)))
    src_ip = _ip(flow['source_ip'], 'source ip') if flow.get('source_ip') else None
    dst_ip = _ip(flow['destination_ip'], 'destination ip') if flow.get('destination_ip') else None
    if src_ip is None:
        src_ip = _pick_ip(src, dst_ip.version if dst_ip else None, 'source ip')
    if dst_ip is None:
        dst_ip = _pick_ip(dst, src_ip.version, 'destination ip')
    if src_ip.version != dst_ip.version:
        raise PortsecError('Source %s and destination %s are not of the same IP version.'
                           % (src_ip, dst_ip))
    return {
        'protocol': protocol,
        'port': flow_port(protocol, flow.get('port')),
        'version': src_ip.version,
        'source_ip': src_ip,
        'destination_ip': dst_ip,
        'source_mac': (flow.get('source_mac') or '').lower() or None,
    }


def _forward_packet(flow, direction):
    packet = {'direction': direction, 'protocol': flow['protocol'], 'version': flow['version'],
              'remote_ip': flow['destination_ip'] if direction == 'egress' else flow['source_ip'],
              'ports': (flow['port'], flow['port']) if flow['port'] else None, 'icmp': None}
    if flow['protocol'] == 'icmp':
        packet['icmp'] = (ICMP_ECHO[flow['version']][0], 0)
    return packet


# -- suggestions ----------------------------------------------------------------------

def _pair_task(port, ip, why):
    return {
        'text': 'Add allowed address pair %s to port %s (%s).' % (ip, port_label(port), why),
        'task': {
            'name': 'Let port %s use %s' % (port.get('name') or port.get('id'), ip),
            'portsec.openstack.allowed_address_pair': {
                'port': port.get('id'),
                'pairs': [{'ip_address': str(ip)}],
                'state': 'present',
            },
        },
    }


def _rule_task(port, groups, packet):
    group_id = (port.get('security_groups') or [None])[0]
    group_name = (groups.get(group_id) or {}).get('name') or group_id
    remote = packet['remote_ip']
    rule = {
        'security_group': group_id,
        'direction': packet['direction'],
        'ethertype': 'IPv%d' % packet['version'],
        'protocol': packet['protocol'],
        'remote_ip_prefix': '%s/%d' % (remote, remote.max_prefixlen),
    }
    if packet['protocol'] in ('tcp', 'udp'):
        rule['port_range_min'], rule['port_range_max'] = packet['ports']
    elif packet['protocol'] == 'icmp':
        rule['port_range_min'], rule['port_range_max'] = packet['icmp']
    return {
        'text': ('Add an %s rule for %s to group %s of port %s.'
                 % (packet['direction'], describe_packet(packet), group_name, port_label(port))),
        'task': {
            'name': 'Admit %s on port %s' % (describe_packet(packet), port.get('name') or port.get('id')),
            'openstack.cloud.security_group_rule': rule,
        },
    }


def _groups_task(port):
    return {
        'text': ('Bind a security group to port %s (port security on with no group drops'
                 ' everything); the project\'s default group is shown.' % port_label(port)),
        'task': {
            'name': 'Give port %s a security group' % (port.get('name') or port.get('id')),
            'portsec.openstack.port_security': {
                'port': port.get('id'),
                'security_groups': ['default'],
                'security_groups_mode': 'add',
            },
        },
    }


def _suggest(check, flow, src, dst, groups):
    code = check['code']
    if check['result'] not in (FAIL, UNKNOWN):
        return []
    if code in ('SRC_IP_NOT_AUTHORISED', 'SRC_PAIR_HOST_BITS'):
        return [_pair_task(src, flow['source_ip'], 'the guest sends from it')]
    if code in ('DST_IP_NOT_AUTHORISED', 'DST_PAIR_HOST_BITS'):
        return [_pair_task(dst, flow['destination_ip'], 'the guest receives on it')]
    if code == 'REPLY_SRC_IP_NOT_AUTHORISED' or code == 'REPLY_SRC_PAIR_HOST_BITS':
        return [_pair_task(dst, flow['destination_ip'], 'the guest answers from it')]
    if code == 'REPLY_DST_IP_NOT_AUTHORISED' or code == 'REPLY_DST_PAIR_HOST_BITS':
        return [_pair_task(src, flow['source_ip'], 'the answer comes back to it')]
    if code.endswith('_NO_GROUPS'):
        port = src if code.startswith(('EGRESS', 'REPLY_INGRESS')) else dst
        return [_groups_task(port)]
    if code.startswith('EGRESS'):
        return [_rule_task(src, groups, _forward_packet(flow, 'egress'))]
    if code.startswith('INGRESS'):
        return [_rule_task(dst, groups, _forward_packet(flow, 'ingress'))]
    if code.startswith('REPLY_EGRESS'):
        return [_rule_task(dst, groups, _reply_packet(flow, 'egress', flow['source_ip']))]
    if code.startswith('REPLY_INGRESS'):
        return [_rule_task(src, groups, _reply_packet(flow, 'ingress', flow['destination_ip']))]
    return []


# -- the model ------------------------------------------------------------------------

def evaluate(flow, ports, security_groups, backend='ovn', address_groups=None, what_if=None):
    """Evaluate one flow between two ports. See the module docstring for the stages.

    flow: source_port, destination_port (port IDs in ports), source_ip and
    destination_ip (default: the ports' first fixed IPs), protocol (tcp, udp,
    icmp, any), port (destination port for tcp/udp), source_mac (default: the
    source port's MAC). ports must hold both ports and every port of a group that
    a rule names as remote group. Returns the result documented in the
    reachability module's RETURN.
    """
    if backend not in BACKENDS:
        raise PortsecError('backend %r is not one of %s.' % (backend, ', '.join(BACKENDS)))
    ports, security_groups, notes = apply_what_if(ports, security_groups, what_if)
    src, dst = _flow_ports(flow, ports)
    groups = {group.get('id'): group for group in security_groups}
    address_groups = {group.get('id'): group for group in address_groups or []}
    flow = normalise_flow(flow, src, dst)
    checks = _stage_checks(flow, src, dst, groups, ports, address_groups, backend)
    verdict = _verdict(checks)
    return {
        'reachable': verdict == 'allowed',
        'verdict': verdict,
        'backend': backend,
        'flow': {
            'source_port': port_ref(src),
            'destination_port': port_ref(dst),
            'source_ip': str(flow['source_ip']),
            'destination_ip': str(flow['destination_ip']),
            'protocol': flow['protocol'],
            'port': flow['port'],
        },
        'checks': checks,
        'blocked_by': _blocked_by(checks),
        'suggestions': _suggestions(checks, flow, src, dst, groups),
        'assumptions': _assumptions(flow, src, dst, checks, backend),
        'what_if': notes,
    }


def evaluate_detected(flow, ports, security_groups, found, address_groups=None, what_if=None):
    """Evaluate one flow for the backend of a detection (backend.resolve): as evaluate when
    one backend is known; otherwise for each candidate, merged. A verdict that is the same on
    every candidate stands; one that differs is unknown (reachable None). backends holds
    each candidate's verdict, blocked_by and reply."""
    per = {name: evaluate(flow, ports, security_groups, backend=name,
                          address_groups=address_groups, what_if=what_if)
           for name in found['candidates']}
    names = list(found['candidates'])
    first = per[names[0]]
    if len(names) == 1:
        result = first
    else:
        result = dict(first, backend='unknown', checks=_merge_checks(names, per))
        verdicts = {per[name]['verdict'] for name in names}
        if len(verdicts) == 1:
            result['blocked_by'] = _merged_blocked_by(names, per, result['checks'])
        else:
            result.update(verdict=UNKNOWN, reachable=None, blocked_by=None)
        suggestions, seen = [], set()
        for name in names:
            for item in per[name]['suggestions']:
                if item['text'] not in seen:
                    seen.add(item['text'])
                    suggestions.append(item)
        result['suggestions'] = suggestions
        codes = [item['code'] for item in first['assumptions']]
        result['assumptions'] = list(first['assumptions']) + [
            item for name in names[1:] for item in per[name]['assumptions']
            if item['code'] not in codes]
    result['assumptions'] = [assumption(found) if item['code'] == 'BACKEND' else item
                             for item in result['assumptions']]
    result['backends'] = {name: {'verdict': per[name]['verdict'],
                                 'reachable': per[name]['reachable'],
                                 'blocked_by': per[name]['blocked_by'],
                                 'reply': per[name]['checks'][-1]['result'],
                                 'summary': summary(per[name])}
                          for name in names}
    return result


def _merge_checks(names, per):
    """One check per stage: as on every candidate when they agree; otherwise the common
    result (unknown if the results differ), code BACKEND_DEPENDENT, each backend's detail,
    and backends (each candidate's result, code and detail)."""
    merged = []
    for index, check in enumerate(per[names[0]]['checks']):
        items = [per[name]['checks'][index] for name in names]
        if len({(item['result'], item['code']) for item in items}) == 1:
            merged.append(check)
            continue
        results = {item['result'] for item in items}
        entry = dict(check)
        entry.update(
            result=results.pop() if len(results) == 1 else UNKNOWN,
            code='BACKEND_DEPENDENT',
            detail='Differs between the backends that may run here: %s' % '; '.join(
                '%s: %s %s' % (BACKEND_NAMES[name], item['result'], item['code'])
                for name, item in zip(names, items)),
            element=None,
            backends={name: {'result': item['result'], 'code': item['code'],
                             'detail': item['detail'], 'element': item['element']}
                      for name, item in zip(names, items)})
        entry.pop('subchecks', None)
        merged.append(entry)
    return merged


def _merged_blocked_by(names, per, merged):
    """Where a flow that every candidate blocks stops: the same place on all, or the first
    stage that fails on all, or the first stage that fails on one, naming the backends."""
    places = [per[name]['blocked_by'] for name in names]
    if all(place == places[0] for place in places):
        return places[0]
    for check in merged:
        if check['result'] == FAIL:
            return {'stage': check['stage'], 'port': check['port'],
                    'element': check['element'], 'code': check['code']}
    for stage in STAGES:
        failing = [name for name, place in zip(names, places) if place and place['stage'] == stage]
        if failing:
            return dict(per[failing[0]]['blocked_by'], backends=failing)
    return None


def _flow_ports(flow, ports):
    """The flow's (source, destination) port dicts; PortsecError if one is not in ports."""
    by_id = {port.get('id'): port for port in ports}
    for key in ('source_port', 'destination_port'):
        if flow.get(key) not in by_id:
            raise PortsecError('%s %r is not among the ports given.' % (key, flow.get(key)))
    return by_id[flow['source_port']], by_id[flow['destination_port']]


def _stage_checks(flow, src, dst, groups, ports, address_groups, backend):
    """One check per stage, in the order of STAGES."""
    source = check_source(src, flow['source_ip'], flow['source_mac'], backend)
    egress = _groups_check('source_egress_groups', src, 'egress', flow, groups, ports,
                           address_groups, backend)
    ingress = _groups_check('destination_ingress_groups', dst, 'ingress', flow, groups, ports,
                            address_groups, backend)
    destination = check_destination(dst, flow['destination_ip'], backend)
    reply, _subchecks = check_reply(flow, src, dst, groups, ports, address_groups, backend)
    return [source, egress, destination, ingress, reply]


def _groups_check(stage, port, direction, flow, groups, ports, address_groups, backend):
    result, code, detail, element = evaluate_groups(
        port, _forward_packet(flow, direction), groups, ports, address_groups, backend)
    return _check(stage, port, result, code, detail, element)


def _verdict(checks):
    results = [check['result'] for check in checks]
    if FAIL in results:
        return 'blocked'
    if UNKNOWN in results:
        return 'unknown'
    return 'allowed'


def _blocked_by(checks):
    """Where the flow stops: the first failed check, or None."""
    for check in checks:
        if check['result'] == FAIL:
            return {'stage': check['stage'], 'port': check['port'],
                    'element': check['element'], 'code': check['code']}
    return None


def _leaf_checks(checks):
    """Every check, the reply path's subchecks in place of the reply path."""
    return [sub for check in checks for sub in check.get('subchecks') or [check]]


def _suggestions(checks, flow, src, dst, groups):
    """The fixes for every failed or unknown check, each text once, in stage order."""
    suggestions = []
    seen = set()
    for sub in _leaf_checks(checks):
        for suggestion in _suggest(sub, flow, src, dst, groups):
            if suggestion['text'] not in seen:
                seen.add(suggestion['text'])
                suggestions.append(suggestion)
    return suggestions


def _assumptions(flow, src, dst, checks, backend):
    found = [
        {'code': 'BACKEND',
         'detail': 'Modelled as %s. Pairs with host bits, destination filtering and remote'
                   ' group membership differ between ML2/OVN and ML2/OVS; stateless groups'
                   ' between the openvswitch and iptables_hybrid firewall drivers of ML2/OVS.'
                   % BACKEND_NAMES[backend]},
        {'code': 'GUEST_NOT_MODELLED',
         'detail': 'Inside the guests nothing is checked: addresses and routes configured,'
                   ' guest firewalls, whether a service listens on the port.'},
        {'code': 'SOURCE_MAC',
         'detail': 'The guest sends from its port\'s MAC%s.' % (
             ' (%s)' % flow['source_mac'] if flow['source_mac'] else '')},
    ]
    if src.get('network_id') != dst.get('network_id'):
        found.append({'code': 'L3_NOT_MODELLED',
                      'detail': 'The ports are on different networks: routing between them'
                                ' (a router on both subnets, routes) and NAT are assumed, not'
                                ' checked.'})
    else:
        found.append({'code': 'SAME_NETWORK',
                      'detail': 'Both ports are on network %s: the packet crosses one logical'
                                ' switch; the guests must reach each other on-link (ARP/ND).'
                                % src.get('network_id')})
    codes = {sub['code'] for sub in _leaf_checks(checks)}
    if any('STATELESS' in code or code.startswith(('REPLY_EGRESS_RULE', 'REPLY_INGRESS_RULE'))
           for code in codes):
        found.append({'code': 'EPHEMERAL_PORTS',
                      'detail': 'For stateless groups the reply goes to the client\'s ephemeral'
                                ' port, assumed in %d-%d (Linux default).' % EPHEMERAL_PORTS})
    return found


def summary(result):
    """One line for humans: verdict and where it stops."""
    flow = result['flow']
    what = flow['protocol'] if flow['port'] is None else '%s/%s' % (flow['protocol'], flow['port'])
    line = '%s -> %s %s: %s' % (flow['source_ip'], flow['destination_ip'], what, result['verdict'])
    if result['verdict'] == UNKNOWN and result.get('backend') == 'unknown':
        return line + ' (differs between backends: %s)' % '; '.join(
            '%s %s' % (BACKEND_NAMES[name], item['summary'].split(': ', 1)[1])
            for name, item in sorted((result.get('backends') or {}).items(),
                                     key=lambda pair: BACKENDS.index(pair[0])))
    if result['blocked_by']:
        blocked = result['blocked_by']
        line += ' at %s on port %s (%s)' % (blocked['stage'], blocked['port']['name'] or
                                            blocked['port']['id'], blocked['element'])
    return line
