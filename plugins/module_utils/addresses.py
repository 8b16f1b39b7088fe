# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What users write, parsed: IDs, IP addresses, MACs; allowed address pairs and their plan.

Pure: nothing here talks to OpenStack. Check mode and the real run call the same
functions, so the prediction and the change cannot disagree. Ports are the plain
dicts Neutron returns (GET /v2.0/ports/{id}), as normalised by neutron.normalize_port
(MACs in lower case).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.plan import Plan
from ansible_collections.portsec.openstack.plugins.module_utils.views import port_label, port_security_on

UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                     r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
MAC_RE = re.compile(r'^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$')


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
        mac = (raw.get('mac_address') or '').lower() or None  # a pair dict from anywhere, not only Neutron
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


class PairPlan(Plan):
    """The outcome of plan_pairs: the full list to send and what it changes.

    Neutron replaces the whole list on every update, so changes holds all of it.
    """

    def __init__(self, after, added, removed, port_mac):
        self.after = after
        self.added = added
        self.removed = removed
        self.port_mac = port_mac
        super(PairPlan, self).__init__({'allowed_address_pairs': self.request()} if added or removed else {})

    def request(self):
        """The whole list, as sent: stored pairs as stored, new ones in our form."""
        return [pair.to_request() for pair in self.after]


def plan_pairs(port, requested, state='present', exclusive=False):
    """Plan allowed-address-pair changes on one port by meaning, not by text.

    present: add the requested pairs that are missing, keep all others.
    absent: remove stored pairs equal to a requested one, keep all others.
    exclusive (with present): the list becomes exactly the requested pairs.
    Stored pairs are never rewritten in another form.
    """
    port_mac = port.get('mac_address') or ''
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


def require_port_security_for(plan, port):
    """Pairs can only be added to a port with port security on (Neutron: 409)."""
    if plan.added and not port_security_on(port):
        raise PortsecError(
            'Port %s has port security disabled, and allowed address pairs require it'
            ' (Neutron answers 409 AddressPairAndPortSecurityRequired). A port without'
            ' port security already accepts any address; if you want filtering, enable'
            ' it first with portsec.openstack.port_security (port_security_enabled:'
            ' true, with its security groups), then add the pairs.' % port_label(port))
    return plan


def requested_pairs(pair, pairs, state, exclusive):
    """The pairs a task asks for (its pair or its pairs), and the warnings to show.

    Raises PortsecError, naming the value, before any request is made.
    """
    if exclusive and state == 'absent':
        raise PortsecError('exclusive: true only applies with state: present (it makes the'
                           ' pairs exactly the given list). To remove pairs, use state:'
                           ' absent without exclusive.')
    if pair is not None:
        requested, warnings = parse_requested_pairs([pair], label='pair')
    else:
        requested, warnings = parse_requested_pairs(
            [dict((key, value) for key, value in item.items() if value is not None)
             for item in pairs])
    return requested, warnings if state == 'present' else []
