# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Audit findings on a port's security posture (pure: no SDK import).

Each finding has a stable code, a severity and a one-line explanation. The codes
are part of the collection's interface: playbooks may assert on them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.portsec.openstack.plugins.module_utils.addresses import stored_pairs
from ansible_collections.portsec.openstack.plugins.module_utils.backend import ML2_OVS
from ansible_collections.portsec.openstack.plugins.module_utils.views import port_security_on

SEVERITIES = ('critical', 'high', 'medium', 'low', 'info')

# code -> severity. Documented in port_security_info's RETURN.
CODES = {
    'PORT_SECURITY_OFF_EXPOSED': 'critical',
    'PORT_SECURITY_OFF': 'low',
    'NO_SECURITY_GROUPS': 'high',
    'PAIR_ANY_ADDRESS': 'high',
    'PAIR_WIDE_PREFIX': 'medium',
    'PAIR_WHOLE_SUBNET': 'low',
    'PAIR_HOST_BITS': 'medium',
    'PAIR_IS_OTHER_PORT_FIXED_IP': 'medium',
    'INGRESS_FROM_ANYWHERE_WITH_FIP': 'medium',
    'INGRESS_ALL_FROM_ANYWHERE_WITH_FIP': 'high',
}

# A pair at least this wide (shorter prefix) is "very wide": it lets the port
# use tens of thousands of addresses, so anti-spoofing means little.
WIDE_PREFIX = {4: 16, 6: 48}


def finding(code, detail, element=None, backend=None):
    """backend: for a finding that depends on the Neutron backend, the one it assumes (a
    name of backend.BACKENDS, or unknown when it explains every reading); None otherwise."""
    return {'code': code, 'severity': CODES[code], 'detail': detail, 'element': element,
            'backend': backend}


def _host_bits_detail(text, address, backend):
    if backend == 'ovn':
        return ('Pair %s has host bits: ML2/OVN, which this cloud runs, reads it as %s alone (the'
                ' mask only gives the subnet size); ML2/OVS would read the whole %s. Write %s to'
                ' say so.' % (text, address.ip, address.network, address.ip))
    if backend in ML2_OVS:
        return ('Pair %s has host bits: ML2/OVS, which this cloud runs, reads it as the whole %s'
                ' (%d addresses); ML2/OVN would read %s alone. Write %s or %s to say which.'
                % (text, address.network, address.network.num_addresses, address.ip,
                   address.ip, address.network))
    return ('Pair %s has host bits: ML2/OVN reads it as %s alone (the mask only gives the'
            ' subnet size), ML2/OVS as the whole %s. Write %s or %s to say which.'
            % (text, address.ip, address.network, address.ip, address.network))


def _other_fixed_ip_detail(address, other, backend):
    name = other.get('name') or other.get('id')
    if backend == 'ovn':
        return ('Pair %s is the fixed IP of port %s on the same network: if that port is unbound'
                ' (a reserved VIP), OVN turns it into a virtual port whose address follows this'
                ' one; if it is bound to a VM, both claim the address.' % (address.ip, name))
    if backend in ML2_OVS:
        return ('Pair %s is the fixed IP of port %s on the same network: this port may use it;'
                ' ML2/OVS has no virtual ports, so an unbound %s only holds the address, and if'
                ' it is bound to a VM both claim the address.' % (address.ip, name, name))
    return ('Pair %s is the fixed IP of port %s on the same network: if that port is unbound'
            ' (a reserved VIP), OVN turns it into a virtual port whose address follows this'
            ' one (ML2/OVS has none: the port only holds the address); if it is bound to a VM,'
            ' both claim the address.' % (address.ip, name))


def _ingress_from_anywhere(rule):
    if rule.get('direction') != 'ingress':
        return False
    if rule.get('remote_group_id') or rule.get('remote_address_group_id'):
        return False
    prefix = rule.get('remote_ip_prefix')
    if not prefix:
        return True
    try:
        return ipaddress.ip_network(prefix, strict=False).prefixlen == 0
    except ValueError:
        return False


def _opens_everything(rule):
    protocol = rule.get('protocol')
    if protocol in (None, '', 'any'):
        return True
    if str(protocol).lower() in ('tcp', 'udp', '6', '17'):
        return (rule.get('port_range_min') in (None, 1)
                and rule.get('port_range_max') in (None, 65535))
    return False


def _rule_text(rule):
    protocol = rule.get('protocol') or 'any protocol'
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if low is None and high is None:
        ports = ''
    elif low == high:
        ports = ' port %s' % low
    else:
        ports = ' ports %s-%s' % (low if low is not None else 1, high if high is not None else 65535)
    return '%s %s%s' % (rule.get('ethertype') or 'IPv4', protocol, ports)


def port_findings(port, floating_ips=None, network=None, groups=None, network_ports=None,
                  backend='unknown'):
    """Findings for one port.

    floating_ips: the floating IPs bound to this port; network: the port's network
    (router:external); groups: id -> security group with security_group_rules;
    network_ports: the other ports of the same network (for virtual-port clashes);
    backend: the backend the cloud runs (backend.BACKENDS), or unknown (findings that depend
    on it then give every reading).
    """
    found = []
    groups = groups or {}
    fips = sorted(fip.get('floating_ip_address') for fip in floating_ips or []
                  if fip.get('floating_ip_address'))
    exposure = _exposure(fips, network)
    if not port_security_on(port):
        found.append(_port_security_off(exposure, fips, network))
        return found

    if not port.get('security_groups'):
        found.append(finding(
            'NO_SECURITY_GROUPS',
            'Port security is on and no security group is bound: Neutron drops all IP'
            ' traffic to and from the port. Bind a group (portsec.openstack.port_security).'))

    found.extend(_pair_findings(port, network_ports or [], backend))

    if fips:
        found.extend(_internet_rule_findings(port, groups, fips))
    return found


def _exposure(fips, network):
    """What makes the port reachable from outside: its floating IPs, an external network."""
    exposure = []
    if fips:
        exposure.append('floating IP(s) %s' % ', '.join(fips))
    if network and network.get('router:external'):
        exposure.append('external network %s' % (network.get('name') or network.get('id')))
    return exposure


def _port_security_off(exposure, fips, network):
    """The finding for a port without port security: worse when it is exposed."""
    if exposure:
        return finding(
            'PORT_SECURITY_OFF_EXPOSED',
            'Port security is off and the port is reachable from outside (%s): every'
            ' protocol and port of the VM is open to the world, with no anti-spoofing.'
            % ' and '.join(exposure), ', '.join(fips) or network.get('id'))
    return finding(
        'PORT_SECURITY_OFF',
        'Port security is off: no security group and no anti-spoofing; any peer on'
        ' the network can reach every port, and the guest may send from any address.')


def _internet_rule_findings(port, groups, fips):
    """Rules of the port's groups that admit anyone, while floating IPs expose the port."""
    found = []
    for gid in port.get('security_groups') or []:
        group = groups.get(gid) or {}
        for rule in group.get('security_group_rules') or []:
            if not _ingress_from_anywhere(rule):
                continue
            code = ('INGRESS_ALL_FROM_ANYWHERE_WITH_FIP' if _opens_everything(rule)
                    else 'INGRESS_FROM_ANYWHERE_WITH_FIP')
            found.append(finding(
                code,
                'Group %s admits %s from anywhere, and the port has floating IP(s) %s:'
                ' the whole Internet reaches it.' % (group.get('name') or gid,
                                                     _rule_text(rule), ', '.join(fips)),
                'rule %s in group %s' % (rule.get('id'), group.get('name') or gid)))
    return found


def _pair_findings(port, network_ports, backend='unknown'):
    found = []
    others = {}
    for other in network_ports:
        if other.get('id') == port.get('id') or other.get('network_id') != port.get('network_id'):
            continue
        for item in other.get('fixed_ips') or []:
            others.setdefault(item.get('ip_address'), other)
    for pair in stored_pairs(port):
        address = pair.address
        text = address.text()
        if address.ip is None:
            continue
        if address.prefixlen == 0:
            found.append(finding(
                'PAIR_ANY_ADDRESS',
                'Pair %s lets the port send from and receive to any %s address: anti-spoofing'
                ' is off for it.' % (text, 'IPv4' if address.version == 4 else 'IPv6'),
                'pair %s' % text))
            continue
        if not address.is_host and address.prefixlen < WIDE_PREFIX[address.version]:
            found.append(finding(
                'PAIR_WIDE_PREFIX',
                'Pair %s is very wide (%d addresses): the port may use any of them, so'
                ' anti-spoofing protects little.' % (text, address.network.num_addresses),
                'pair %s' % text))
        elif address.has_host_bits:
            found.append(finding('PAIR_HOST_BITS', _host_bits_detail(text, address, backend),
                                 'pair %s' % text, backend))
        elif not address.is_host:
            found.append(finding(
                'PAIR_WHOLE_SUBNET',
                'Pair %s covers a whole subnet: the port may use every address in it (%d),'
                ' on both ML2/OVN and ML2/OVS.' % (text, address.network.num_addresses),
                'pair %s' % text))
        if address.is_host or address.has_host_bits:
            other = others.get(str(address.ip))
            if other is not None:
                found.append(finding('PAIR_IS_OTHER_PORT_FIXED_IP',
                                     _other_fixed_ip_detail(address, other, backend),
                                     'pair %s' % text, backend))
    return found


def worst_severity(findings):
    for severity in SEVERITIES:
        if any(item['severity'] == severity for item in findings):
            return severity
    return None


def sort_findings(findings):
    return sorted(findings, key=lambda item: (SEVERITIES.index(item['severity']), item['code']))
