# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Namespace guests of the local test cloud: one network namespace per server, one interface per port.

The Nova driver `portsec_fake.PlugFakeDriver` calls `plug()`/`unplug()` for each VIF; `cloud stop`
calls `remove_all()`. Standard library only; needs root, `ip` (iproute2) and `ovs-vsctl`.

For each port: a veth pair. The OVS end (`tap<port id>`, 14 characters, Nova's device name) sits on
br-int with `external_ids:iface-id=<port id>`, so ovn-controller binds the port and OVN installs its
port-security and ACL flows. The guest end goes into the namespace `psg-<first 8 hex of the server
UUID>` with the port's MAC, its fixed IPs and, on the first port, the default route to its subnet's
gateway. TX checksum offload is turned off on the guest end: the userspace datapath reads the veth
with AF_PACKET and would forward TCP/UDP with unfinished checksums, which the receiver drops
silently (while ping passes).

ML2/OVS with the iptables_hybrid firewall binds ports with `ovs_hybrid_plug`: then the OVS port is
`qvo<port id>` and `tap<port id>` sits in a Linux bridge `qbr<port id>` with `qvb<port id>`, as
os-vif plugs them (plug(..., hybrid=True); the Nova driver reads the VIF's details).

Records: `.state/guests/<namespace>.json` per server; `.state/guests.yml` is an Ansible inventory
of all of them (group `portsec_guests`, one host per server name, connection `netns`, see
tests/cloud/plugins/connection/netns.py).

By hand (for tests of the plumbing):
  portsec_guests.py plug SERVER_UUID SERVER_NAME PORT_ID MAC IP/PREFIX[,IP/PREFIX] [GATEWAY] [--hybrid]
  portsec_guests.py unplug SERVER_UUID PORT_ID
  portsec_guests.py list | remove-all | inventory
"""

import array
import fcntl
import glob
import json
import os
import socket
import struct
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.realpath(__file__))
STATE = os.environ.get('PORTSEC_CLOUD_STATE') or os.path.join(os.path.dirname(HERE), '.state')
OVS_DB = os.environ.get('PORTSEC_OVS_DB', 'unix:' + os.path.join(STATE, 'ovs', 'db.sock'))
BRIDGE = os.environ.get('PORTSEC_INTEGRATION_BRIDGE', 'br-int')
PREFIX = 'psg-'
GUESTS = os.path.join(STATE, 'guests')
INVENTORY = os.path.join(STATE, 'guests.yml')
LOCK = os.path.join(STATE, 'guests.lock')

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x00000017
ETHTOOL_GTXCSUM = 0x00000016


class GuestError(Exception):
    pass


def _run(cmd, check=True):
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        raise GuestError('%s: %s' % (' '.join(cmd), proc.stderr.strip() or proc.returncode))
    return proc


def _vsctl(*args, check=True):
    return _run(['ovs-vsctl', '--db=' + OVS_DB, '--timeout=10'] + list(args), check=check)


def namespace(server_uuid):
    return PREFIX + server_uuid.replace('-', '')[:8]


def ovs_dev(port_id):
    return ('tap' + port_id)[:14]


def _tmp_dev(port_id):
    return ('psg' + port_id)[:14]


def hybrid_devs(port_id):
    """os-vif's hybrid plug names (vif_plug_ovs): the Linux bridge qbr<id>, the veth pair
    qvb<id> (in the bridge) and qvo<id> (on the integration bridge), cut to 14 characters."""
    return tuple((prefix + port_id)[:14] for prefix in ('qbr', 'qvb', 'qvo'))


def _sysctl_write(path, value):
    if os.path.exists(path):
        with open(path, 'w') as f:
            f.write(value)


def _plug_hybrid(port_id, dev):
    """As os-vif plugs a VIF with ovs_hybrid_plug (the iptables_hybrid firewall's ports): the
    guest's host-side device `dev` (tap<id>) in a per-port Linux bridge qbr<id>, which reaches
    the integration bridge by the veth pair qvb<id>/qvo<id>; qvo<id> is the OVS port. The
    firewall's iptables rules match the tap in the bridge (physdev). Returns the OVS port."""
    qbr, qvb, qvo = hybrid_devs(port_id)
    if _run(['ip', 'link', 'show', qbr], check=False).returncode != 0:
        # ageing 0 as os-vif does (linux_net.ensure_bridge), no IPv6 and no ARP replies of its own
        _run(['ip', 'link', 'add', qbr, 'type', 'bridge', 'ageing_time', '0'])
    _sysctl_write('/proc/sys/net/ipv6/conf/%s/disable_ipv6' % qbr, '1')
    _sysctl_write('/proc/sys/net/ipv4/conf/%s/arp_ignore' % qbr, '1')
    _sysctl_write('/proc/sys/net/ipv4/conf/%s/arp_announce' % qbr, '2')
    _run(['ip', 'link', 'add', qvb, 'type', 'veth', 'peer', 'name', qvo])
    tx_checksum_off(qvb)
    tx_checksum_off(qvo)
    for link in (qvb, dev):
        _run(['ip', 'link', 'set', link, 'master', qbr])
    for link in (qbr, qvb, qvo):
        _run(['ip', 'link', 'set', link, 'up'])
    return qvo


def _remove_ovs_side(port_id, dev):
    """The port's devices on this host: its OVS port (tap<id> or qvo<id>), the veth pairs and a
    hybrid plug's bridge. Deleting tap<id> takes the guest end with it."""
    qbr, _qvb, qvo = hybrid_devs(port_id)
    _vsctl('--if-exists', 'del-port', BRIDGE, dev, check=False)
    _vsctl('--if-exists', 'del-port', BRIDGE, qvo, check=False)
    for link in (dev, qvo, qbr):
        _run(['ip', 'link', 'del', link], check=False)


def _ns_exists(ns):
    return os.path.exists(os.path.join('/run/netns', ns))


def _ethtool_value(dev, cmd, data=0):
    """SIOCETHTOOL with a struct ethtool_value (what `ethtool -K dev tx off` sends)."""
    buf = array.array('B', struct.pack('II', cmd, data))
    addr = buf.buffer_info()[0]
    ifreq = struct.pack('16sP', dev.encode(), addr)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)
    return struct.unpack('II', buf.tobytes())[1]


def tx_checksum_off(dev):
    _ethtool_value(dev, ETHTOOL_STXCSUM, 0)
    if _ethtool_value(dev, ETHTOOL_GTXCSUM):
        raise GuestError('TX checksum offload still on for %s' % dev)


_THREAD_LOCK = threading.Lock()


class _Locked(object):
    # A lock for the threads (or green threads) of this process first: flock is per process and
    # would block a whole eventlet hub. Then the file lock, against other processes.
    def __enter__(self):
        _THREAD_LOCK.acquire()
        os.makedirs(STATE, exist_ok=True)
        self.f = open(LOCK, 'w')
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()
        _THREAD_LOCK.release()


def _record_path(ns):
    return os.path.join(GUESTS, ns + '.json')


def _load(ns):
    try:
        with open(_record_path(ns)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _save(rec):
    os.makedirs(GUESTS, exist_ok=True)
    path = _record_path(rec['namespace'])
    with open(path + '.tmp', 'w') as f:
        json.dump(rec, f, indent=1, sort_keys=True)
    os.replace(path + '.tmp', path)


def records():
    out = []
    for path in sorted(glob.glob(os.path.join(GUESTS, PREFIX + '*.json'))):
        try:
            with open(path) as f:
                out.append(json.load(f))
        except (OSError, ValueError):
            continue
    return out


def _q(s):
    return json.dumps(str(s))   # a JSON string is a valid YAML scalar


def write_inventory():
    lines = ['# Written by the local cloud (tests/cloud/lib/portsec_guests.py): one host per server,',
             '# reached in its network namespace by the `netns` connection plugin',
             '# (ANSIBLE_CONNECTION_PLUGINS=tests/cloud/plugins/connection; needs root).',
             '# Hosts added to the group portsec_guests by a playbook (add_host, named like the',
             '# server) get the same connection from the group vars.',
             'all:', '  children:', '    portsec_guests:', '      vars:',
             '        ansible_connection: netns',
             '        ansible_python_interpreter: "{{ ansible_playbook_python }}"',
             '      hosts:']
    recs = records()
    if not recs:
        lines[-1] = '      hosts: {}'
    for rec in recs:
        lines.append('        %s:' % _q(rec['server_name']))
        lines.append('          ansible_netns: %s' % _q(rec['namespace']))
        lines.append('          portsec_guest_server_id: %s' % _q(rec['server_id']))
        lines.append('          portsec_guest_interfaces:')
        if not rec['ports']:
            lines[-1] += ' []'
        for p in rec['ports']:
            lines.append('            - {port_id: %s, interface: %s, mac: %s, ips: [%s]}' % (
                _q(p['port_id']), _q(p['interface']), _q(p['mac']),
                ', '.join(_q(i) for i in p['ips'])))
    with open(INVENTORY + '.tmp', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(INVENTORY + '.tmp', INVENTORY)


def _free_ifname(ns, rec):
    used = {p['interface'] for p in rec['ports']}
    listed = _run(['ip', '-n', ns, '-o', 'link', 'show']).stdout
    for i in range(64):
        name = 'eth%d' % i
        if name not in used and (' %s:' % name) not in listed and (' %s@' % name) not in listed:
            return name
    raise GuestError('no free interface name in %s' % ns)


def plug(server_uuid, server_name, port_id, mac, ips, gateway=None, hybrid=False):
    """Idempotent: (re)creates the guest interface of one port. ips: ['10.0.0.5/24', ...].
    hybrid: plug as os-vif's hybrid plug (the VIF's details say ovs_hybrid_plug)."""
    ns = namespace(server_uuid)
    with _Locked():
        rec = _load(ns) or {'namespace': ns, 'server_id': server_uuid,
                            'server_name': server_name, 'ports': []}
        rec['server_name'] = server_name or rec['server_name']
        if not _ns_exists(ns):
            _run(['ip', 'netns', 'add', ns])
            _run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        old = [p for p in rec['ports'] if p['port_id'] == port_id]
        rec['ports'] = [p for p in rec['ports'] if p['port_id'] != port_id]
        dev, tmp = ovs_dev(port_id), _tmp_dev(port_id)
        ifname = old[0]['interface'] if old else _free_ifname(ns, rec)
        # a clean pair every time (a restart of the cloud leaves the namespace without it), and a
        # fresh OVS port: an older one may be an OVS internal interface of the same name
        _remove_ovs_side(port_id, dev)
        _run(['ip', '-n', ns, 'link', 'del', ifname], check=False)
        _run(['ip', 'link', 'del', tmp], check=False)
        _run(['ip', 'link', 'add', dev, 'type', 'veth', 'peer', 'name', tmp])
        _run(['ip', 'link', 'set', tmp, 'address', mac])
        tx_checksum_off(tmp)
        tx_checksum_off(dev)
        _run(['ip', 'link', 'set', tmp, 'netns', ns, 'name', ifname])
        for ip in ips:
            _run(['ip', '-n', ns, 'addr', 'add', ip, 'dev', ifname])
        _run(['ip', '-n', ns, 'link', 'set', ifname, 'up'])
        _run(['ip', 'link', 'set', dev, 'up'])
        ovs_port = _plug_hybrid(port_id, dev) if hybrid else dev
        _vsctl('add-port', BRIDGE, ovs_port,
               '--', 'set', 'Interface', ovs_port, 'type=system',
               'external_ids:iface-id=%s' % port_id,
               'external_ids:attached-mac=%s' % mac,
               'external_ids:iface-status=active',
               'external_ids:vm-uuid=%s' % server_uuid)
        is_first = not rec['ports'] or (old and old[0].get('default_route'))
        has_default = bool(_run(['ip', '-n', ns, '-4', 'route', 'show', 'default']).stdout.strip())
        routed = False
        if gateway and is_first and not has_default:
            _run(['ip', '-n', ns, 'route', 'replace', 'default', 'via', gateway, 'dev', ifname])
            routed = True
        rec['ports'].append({'port_id': port_id, 'interface': ifname, 'mac': mac,
                             'ips': list(ips), 'gateway': gateway, 'ovs_dev': dev,
                             'ovs_port': ovs_port, 'hybrid': bool(hybrid),
                             'default_route': routed})
        _save(rec)
        write_inventory()
    return ns, ifname


def unplug(server_uuid, port_id, remove_empty=True):
    ns = namespace(server_uuid)
    dev = ovs_dev(port_id)
    with _Locked():
        _remove_ovs_side(port_id, dev)
        rec = _load(ns)
        if rec is not None:
            rec['ports'] = [p for p in rec['ports'] if p['port_id'] != port_id]
            if rec['ports'] or not remove_empty:
                _save(rec)
            else:
                _drop(ns)
        elif remove_empty and _ns_exists(ns):
            _run(['ip', 'netns', 'del', ns], check=False)
        write_inventory()


def _drop(ns):
    rec = _load(ns) or {'ports': []}
    for p in rec['ports']:
        _remove_ovs_side(p['port_id'], p.get('ovs_dev') or ovs_dev(p['port_id']))
    if _ns_exists(ns):
        _run(['ip', 'netns', 'del', ns], check=False)
    try:
        os.unlink(_record_path(ns))
    except OSError:
        pass


def remove_server(server_uuid):
    with _Locked():
        _drop(namespace(server_uuid))
        write_inventory()


def remove_all():
    """Every namespace guest (and its veth pairs): for `cloud stop`. Returns the names."""
    with _Locked():
        names = {r['namespace'] for r in records()}
        if os.path.isdir('/run/netns'):
            names |= {n for n in os.listdir('/run/netns') if n.startswith(PREFIX)}
        for ns in sorted(names):
            _drop(ns)
        if os.path.isdir(GUESTS):
            write_inventory()
        return sorted(names)


def ensure_inventory():
    """Write the inventory now (with no hosts on a new cloud): playbooks started before the
    first server (make demo) must find the group portsec_guests."""
    with _Locked():
        os.makedirs(GUESTS, exist_ok=True)
        write_inventory()


# The outside world: a namespace on the external network's bridge (br-ex, mapped to the
# physical network of the external network `public`), with the public subnet's gateway
# address. It stands for the Internet upstream of the routers: floating IPs are reached from
# it through the OVN router on the gateway chassis, as from outside a real cloud.
OUTSIDE_NS = 'psx-outside'
OUTSIDE_DEV = 'psx-out'


def plug_outside(bridge, address):
    """Create (or keep) the outside namespace with `address` (CIDR) on a veth to `bridge`."""
    with _Locked():
        if not _ns_exists(OUTSIDE_NS):
            _run(['ip', 'netns', 'add', OUTSIDE_NS])
        host_end, ns_end = OUTSIDE_DEV + '0', OUTSIDE_DEV + '1'
        if _run(['ip', 'link', 'show', host_end], check=False).returncode != 0:
            # as plug() does: offload off on both ends before one moves into the namespace
            _run(['ip', 'link', 'add', host_end, 'type', 'veth', 'peer', 'name', ns_end])
            tx_checksum_off(ns_end)
            tx_checksum_off(host_end)
            _run(['ip', 'link', 'set', ns_end, 'netns', OUTSIDE_NS])
        _run(['ip', 'link', 'set', host_end, 'up'])
        _vsctl('--may-exist', 'add-port', bridge, host_end)
        _run(['ip', '-n', OUTSIDE_NS, 'link', 'set', 'lo', 'up'])
        _run(['ip', '-n', OUTSIDE_NS, 'addr', 'replace', address, 'dev', ns_end])
        _run(['ip', '-n', OUTSIDE_NS, 'link', 'set', ns_end, 'up'])
        return OUTSIDE_NS


def remove_outside():
    with _Locked():
        _vsctl('--if-exists', 'del-port', OUTSIDE_DEV + '0', check=False)
        _run(['ip', 'link', 'del', OUTSIDE_DEV + '0'], check=False)
        if _ns_exists(OUTSIDE_NS):
            _run(['ip', 'netns', 'del', OUTSIDE_NS], check=False)


def main(argv):
    if len(argv) >= 6 and argv[0] == 'plug':
        hybrid = '--hybrid' in argv
        argv = [a for a in argv if a != '--hybrid']
        print('%s %s' % plug(argv[1], argv[2], argv[3], argv[4], argv[5].split(','),
                             argv[6] if len(argv) > 6 else None, hybrid=hybrid))
    elif len(argv) == 3 and argv[0] == 'unplug':
        unplug(argv[1], argv[2])
    elif argv == ['list']:
        print(json.dumps(records(), indent=1))
    elif argv == ['remove-all']:
        print(' '.join(remove_all()))
    elif argv == ['inventory']:
        with _Locked():
            write_inventory()
        print(INVENTORY)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
