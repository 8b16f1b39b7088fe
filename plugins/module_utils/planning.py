# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure decision logic: normalise, compare and plan port changes.

Nothing here talks to OpenStack. Check mode and the real run call the same
functions, so the prediction and the change cannot disagree. Ports are the
plain dicts Neutron returns (GET /v2.0/ports/{id}).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    PortsecError,
)

UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                     r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
MAC_RE = re.compile(r'^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$')

SECURITY_GROUP_MODES = ('exact', 'add', 'remove')


def is_uuid(value):
    return bool(value) and bool(UUID_RE.match(value))


# -- addresses ---------------------------------------------------------------

class Address:
    """An allowed-address-pair address: one host or a prefix (host bits kept).

    ``10.0.0.5`` and ``10.0.0.5/32`` are the same Address; ``10.10.10.11/24``
    and ``10.10.10.0/24`` are not, because OVN reads a prefix with host bits as
    that single address while a zero host part means the whole subnet
    (ovn-nb(5), Logical_Switch_Port port_security).
    """

    __slots__ = ('ip', 'prefixlen')

    def __init__(self, ip, prefixlen):
        self.ip = ip
        self.prefixlen = prefixlen

    @property
    def version(self):
        return self.ip.version

    @property
    def max_prefixlen(self):
        return self.ip.max_prefixlen

    @property
    def is_host(self):
        return self.prefixlen == self.max_prefixlen

    @property
    def has_host_bits(self):
        """A prefix such as 10.10.10.11/24 (not a host, host part not zero)."""
        if self.is_host:
            return False
        return self.network.network_address != self.ip

    @property
    def network(self):
        return ipaddress.ip_network('%s/%d' % (self.ip, self.prefixlen), strict=False)

    @property
    def key(self):
        return (self.version, int(self.ip), self.prefixlen)

    def text(self):
        """The form we send: a host bare (OVN virtual-port detection matches the
        bare string), a prefix in canonical CIDR text, host bits kept."""
        if self.is_host:
            return str(self.ip)
        return '%s/%d' % (self.ip, self.prefixlen)

    def __eq__(self, other):
        return isinstance(other, Address) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return 'Address(%s)' % self.text()


def parse_address(value, what='ip_address', strict_text=True):
    """Parse an address or prefix; raise PortsecError naming the value.

    With strict_text, IPv4 text must already be canonical (Neutron compares
    str(IPNetwork(x)) == x and rejects anything else); IPv6 may be written in
    any valid form and is sent compressed.
    """
    if not isinstance(value, str):
        raise PortsecError('%s %r is not a string: give an IPv4/IPv6 address such as'
                           ' 10.10.10.11, or a prefix such as 10.10.10.0/24.' % (what, value))
    text = value
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise PortsecError(
            '%s %r is not a valid IP address or CIDR prefix: give an address such as'
            ' 10.10.10.11 or 2001:db8::11, or a prefix such as 10.10.10.0/24.'
            % (what, value))
    address = Address(iface.ip, iface.network.prefixlen)
    if '/' in text:
        plen_text = text.rsplit('/', 1)[1]
        if not plen_text.isdigit():
            raise PortsecError(
                '%s %r uses a netmask instead of a prefix length: write it as %r.'
                % (what, value, '%s/%d' % (address.ip, address.prefixlen)))
    if strict_text and address.version == 4:
        canonical = str(iface.ip) if '/' not in text else '%s/%d' % (iface.ip, address.prefixlen)
        if canonical != text:
            raise PortsecError(
                '%s %r is not in canonical form, which Neutron requires for IPv4:'
                ' write it as %r.' % (what, value, canonical))
    if address.ip.is_multicast or (not address.is_host and address.network.is_multicast):
        raise PortsecError(
            '%s %r is a multicast address: an allowed address pair must be a unicast'
            ' address or prefix (Neutron rejects multicast pairs).' % (what, value))
    return address


def normalize_mac(value, what='mac_address'):
    """Lower-case colon form; raise PortsecError naming the value."""
    if not isinstance(value, str) or not MAC_RE.match(value):
        raise PortsecError(
            '%s %r is not a valid MAC address: give six hexadecimal octets such as'
            ' fa:16:3e:12:34:56.' % (what, value))
    mac = value.lower().replace('-', ':')
    if int(mac[:2], 16) & 1:
        raise PortsecError(
            '%s %r is a multicast MAC address (lowest bit of the first octet set):'
            ' a pair must use a unicast MAC, usually the port\'s own.' % (what, value))
    if mac == '00:00:00:00:00:00':
        raise PortsecError('%s %r is the all-zero MAC address, which Neutron rejects:'
                           ' give a unicast MAC or leave it out to use the port\'s own.'
                           % (what, value))
    return mac


class Pair:
    """An allowed address pair: (address, MAC). A missing MAC is the port's MAC."""

    __slots__ = ('address', 'mac', 'raw')

    def __init__(self, address, mac, raw=None):
        self.address = address
        self.mac = mac
        self.raw = raw

    def key(self, port_mac):
        return (self.address.key, self.mac or port_mac)

    def to_request(self):
        """The dict we send for a new pair (stored pairs are sent as stored)."""
        if self.raw is not None:
            return dict(self.raw)
        body = {'ip_address': self.address.text()}
        if self.mac:
            body['mac_address'] = self.mac
        return body

    def describe(self, port_mac):
        return '%s (%s)' % (self.address.text(), self.mac or port_mac)


def parse_requested_pairs(pairs, label='pairs'):
    """Validate the pairs a user asked for; return (pairs, warnings).

    Raises PortsecError on the first invalid value. Duplicates are kept here
    and collapse in plan_pairs (an omitted MAC needs the port's MAC to compare).
    """
    parsed = []
    warnings = []
    for index, item in enumerate(pairs or []):
        where = label if label != 'pairs' else 'pairs[%d]' % index
        if isinstance(item, str):
            item = {'ip_address': item}
        if not isinstance(item, dict):
            raise PortsecError('%s must be a dict with ip_address and optional'
                               ' mac_address, got %r.' % (where, item))
        unknown = sorted(set(item) - {'ip_address', 'mac_address'})
        if unknown:
            raise PortsecError('%s has unknown key(s) %s: a pair has only'
                               ' ip_address and mac_address.' % (where, ', '.join(unknown)))
        if not item.get('ip_address'):
            raise PortsecError('%s has no ip_address: every pair needs one.' % where)
        address = parse_address(item['ip_address'],
                                what=label if label != 'pairs' else where + '.ip_address')
        mac = item.get('mac_address')
        mac = normalize_mac(mac, what=where + '.mac_address') if mac else None
        if address.prefixlen == 0:
            warnings.append(
                'Allowed address pair %s lets the port send and receive with any %s address:'
                ' it turns off anti-spoofing for that port.'
                % (address.text(), 'IPv4' if address.version == 4 else 'IPv6'))
        parsed.append(Pair(address, mac))
    return parsed, warnings


def stored_pairs(port):
    """The port's stored pairs as Pair objects (raw dict kept, sent back as is)."""
    result = []
    for raw in port.get('allowed_address_pairs') or []:
        try:
            address = parse_address(raw.get('ip_address'), strict_text=False)
        except PortsecError:
            # Not ours to judge: keep an unparsable stored pair by its text.
            address = _OpaqueAddress(raw.get('ip_address'))
        mac = (raw.get('mac_address') or '').lower() or None
        result.append(Pair(address, mac, raw=raw))
    return result


class _OpaqueAddress(Address):
    __slots__ = ('literal',)

    def __init__(self, literal):
        super(_OpaqueAddress, self).__init__(None, None)
        self.literal = literal

    @property
    def key(self):
        return ('text', self.literal)

    def text(self):
        return str(self.literal)


class PairPlan:
    """The outcome of plan_pairs: the full list to send and what it changes."""

    def __init__(self, after, added, removed, port_mac):
        self.after = after
        self.added = added
        self.removed = removed
        self.port_mac = port_mac

    @property
    def changed(self):
        return bool(self.added or self.removed)

    @property
    def changes(self):
        """The fields to PUT: Neutron replaces the whole list on every update."""
        if not self.changed:
            return {}
        return {'allowed_address_pairs': self.request()}

    def request(self):
        return [pair.to_request() for pair in self.after]


def plan_pairs(port, requested, state='present', exclusive=False):
    """Plan allowed-address-pair changes on one port by meaning, not by text.

    present: add the requested pairs that are missing, keep all others.
    absent: remove stored pairs equal to a requested one, keep all others.
    exclusive (with present): the list becomes exactly the requested pairs.
    Stored pairs are never rewritten in another form.
    """
    port_mac = (port.get('mac_address') or '').lower()
    current = stored_pairs(port)
    wanted = []
    wanted_keys = set()
    for pair in requested:
        key = pair.key(port_mac)
        if key not in wanted_keys:
            wanted_keys.add(key)
            wanted.append(pair)

    if state == 'absent':
        after = [pair for pair in current if pair.key(port_mac) not in wanted_keys]
        removed = [pair for pair in current if pair.key(port_mac) in wanted_keys]
        return PairPlan(after, [], removed, port_mac)

    kept = []
    kept_keys = set()
    removed = []
    for pair in current:
        key = pair.key(port_mac)
        if exclusive and (key not in wanted_keys or key in kept_keys):
            removed.append(pair)
            continue
        kept_keys.add(key)
        kept.append(pair)
    added = [pair for pair in wanted if pair.key(port_mac) not in kept_keys]
    return PairPlan(kept + added, added, removed, port_mac)


def describe_pairs(pairs, port_mac):
    return [pair.describe(port_mac) for pair in pairs]


def pair_view(raw, port_mac):
    """A stored pair as returned to the user (MAC always filled in)."""
    return {'ip_address': raw.get('ip_address'),
            'mac_address': (raw.get('mac_address') or port_mac or '').lower() or None}


# -- port security and security groups ----------------------------------------

class PortSecurityPlan:
    """Fields to PUT on one port, and what the change removes."""

    def __init__(self, changes, removed_groups, removed_pairs, warnings):
        self.changes = changes
        self.removed_groups = removed_groups
        self.removed_pairs = removed_pairs
        self.warnings = warnings

    @property
    def changed(self):
        return bool(self.changes)

    @property
    def disables(self):
        return self.changes.get('port_security_enabled') is False


def validate_port_security_request(enabled, security_groups, mode):
    """Checks that need no port: raise PortsecError before any request."""
    if mode not in SECURITY_GROUP_MODES:
        raise PortsecError('security_groups_mode %r is not one of %s.'
                           % (mode, ', '.join(SECURITY_GROUP_MODES)))
    if enabled is False and security_groups:
        raise PortsecError(
            'security_groups (%s) cannot be combined with port_security_enabled: false:'
            ' a port without port security has no security groups (Neutron answers 400'
            ' PortSecurityAndIPRequiredForSecurityGroups). Remove security_groups, or set'
            ' port_security_enabled: true.' % ', '.join(security_groups))


def plan_port_security(port, enabled=None, group_ids=None, mode='exact'):
    """Plan port_security_enabled and security group changes for one port.

    enabled: None (leave as is) or a bool. group_ids: None (leave as is) or
    the resolved IDs of the requested groups, interpreted by mode (exact, add,
    remove). Disabling clears groups and pairs in the same PUT, as Neutron
    refuses to disable port security while either is present (409).
    """
    validate_port_security_request(enabled, group_ids, mode)
    current_enabled = bool(port.get('port_security_enabled'))
    current_groups = list(port.get('security_groups') or [])
    current_pairs = list(port.get('allowed_address_pairs') or [])
    target_enabled = current_enabled if enabled is None else enabled
    warnings = []

    if not target_enabled:
        if group_ids and mode != 'remove':
            raise PortsecError(
                'Port %s has port security disabled, so it cannot have security groups'
                ' (%s). Set port_security_enabled: true in the same task to enable it and'
                ' apply the groups in one update.'
                % (port_label(port), ', '.join(group_ids)))
        target_groups = []
    elif group_ids is None:
        target_groups = current_groups
    elif mode == 'exact':
        target_groups = _ordered_unique(group_ids)
    elif mode == 'add':
        target_groups = _ordered_unique(current_groups + list(group_ids))
    else:
        target_groups = [group for group in current_groups if group not in set(group_ids)]

    changes = {}
    if target_enabled != current_enabled:
        changes['port_security_enabled'] = target_enabled
    if set(target_groups) != set(current_groups):
        changes['security_groups'] = target_groups
    removed_groups = [group for group in current_groups if group not in set(target_groups)]
    removed_pairs = []
    if not target_enabled and current_pairs:
        changes['allowed_address_pairs'] = []
        removed_pairs = current_pairs
    if target_enabled and not target_groups:
        warnings.append(
            'Port %s has port security enabled and no security groups: Neutron drops all'
            ' its traffic except what its own rules never block (DHCP, and in OVN ARP/ND).'
            ' Give security_groups to let traffic through.' % port_label(port))
    return PortSecurityPlan(changes, removed_groups, removed_pairs, warnings)


def apply_changes(port, changes):
    """The port as it will be after the PUT (for check mode's prediction)."""
    after = dict(port)
    after.update(changes)
    return after


def exposure_reasons(port, floating_ips, network):
    """Why disabling port security on this port exposes it to the outside."""
    reasons = []
    addresses = sorted(fip.get('floating_ip_address') for fip in floating_ips or []
                       if fip.get('floating_ip_address'))
    if addresses:
        reasons.append('it has floating IP(s) %s' % ', '.join(addresses))
    if network and network.get('router:external'):
        reasons.append('it sits on the external network %s'
                       % (network.get('name') or network.get('id')))
    return reasons


def port_label(port):
    name = port.get('name')
    if name:
        return '%s (%s)' % (name, port.get('id'))
    return str(port.get('id'))


def _ordered_unique(items):
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


# -- views ---------------------------------------------------------------------

def port_view(port, group_names=None, network_name=None, server_name=None):
    """The port as our modules return it (documented in RETURN)."""
    group_names = group_names or {}
    port_mac = (port.get('mac_address') or '').lower()
    view = {
        'id': port.get('id'),
        'name': port.get('name'),
        'network_id': port.get('network_id'),
        'project_id': port.get('project_id') or port.get('tenant_id'),
        'fixed_ips': [{'ip_address': ip.get('ip_address'), 'subnet_id': ip.get('subnet_id')}
                      for ip in port.get('fixed_ips') or []],
        'mac_address': port_mac,
        'port_security_enabled': port.get('port_security_enabled'),
        'security_groups': [{'id': group, 'name': group_names.get(group)}
                            for group in port.get('security_groups') or []],
        'allowed_address_pairs': [pair_view(raw, port_mac)
                                  for raw in port.get('allowed_address_pairs') or []],
        'revision_number': port.get('revision_number'),
        'device_id': port.get('device_id'),
        'device_owner': port.get('device_owner'),
    }
    if network_name is not None:
        view['network_name'] = network_name
    if server_name is not None:
        view['server_name'] = server_name
    return view


def diff_view(port, group_names=None):
    """Readable before/after for diff mode: group names and pairs."""
    group_names = group_names or {}
    port_mac = (port.get('mac_address') or '').lower()
    return {
        'port_security_enabled': port.get('port_security_enabled'),
        'security_groups': sorted(group_names.get(group) or group
                                  for group in port.get('security_groups') or []),
        'allowed_address_pairs': sorted(
            '%s (%s)' % (raw.get('ip_address'), (raw.get('mac_address') or port_mac).lower())
            for raw in port.get('allowed_address_pairs') or []),
    }
