# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local cloud's network namespaces: the namespace guests of servers (lib/portsec_guests.py,
pointed at this cloud), and the dataplane check that proves OVN forwards, with two scratch
ports on a scratch logical switch in scratch namespaces. Standard library only."""

import collections
import os
import subprocess
import sys
import time

import cloud_ml2ovs
from cloud_common import HOST, LIB, OVS_DB, STATE, CloudError, logfile, running_backend, say
from cloud_config import load_secrets
from cloud_ovn import nbctl, sbctl
from cloud_procs import alive
from cloud_services import admin_call, os_token


def guests_module():
    """lib/portsec_guests.py (namespace guests), pointed at this cloud's OVS and state."""
    os.environ['PORTSEC_OVS_DB'] = OVS_DB
    os.environ['PORTSEC_CLOUD_STATE'] = STATE
    sys.path.insert(0, LIB)
    try:
        import portsec_guests
    finally:
        sys.path.pop(0)
    return portsec_guests


def remove_guests():
    """The network namespaces (and veth pairs) that the Nova driver made for servers."""
    try:
        gone = guests_module().remove_all()
    except Exception as exc:     # stop must go on
        say('removing namespace guests failed: %s' % exc)
        return
    if gone:
        say('removed %d namespace guest(s)' % len(gone))


# The dataplane check: two scratch logical switch ports on a scratch logical switch in OVN's
# northbound database (no Neutron object), each bound by ovn-controller to a veth in a scratch
# namespace; one ping and one TCP handshake between them; then all of it removed.
CHECK_SWITCH = 'portsec-dataplane-check'
# A port: its namespace, its device (the name of the logical switch port too; the veth ends
# are <dev>o on br-int and <dev>i in the namespace), its MAC and its IP.
CheckPort = collections.namedtuple('CheckPort', 'ns dev mac ip')
CHECK_PORTS = [CheckPort('psc-1', 'psc1', '02:00:5c:00:00:01', '10.254.254.1'),
               CheckPort('psc-2', 'psc2', '02:00:5c:00:00:02', '10.254.254.2')]
CHECK_BUDGET = 15
CHECK_TCP_PORT = 5999
LISTENER = (
    'import socket, sys\n'
    's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n'
    's.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(float(sys.argv[3]))\n'
    'print("listening", flush=True)\n'
    'c, peer = s.accept(); print("accepted", peer[0], flush=True); c.close()\n')
CONNECT = (
    'import socket, sys\n'
    'socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()\n')


def remove_dataplane_check():
    """The scratch switch, OVS ports, veths and namespaces of dataplane_check (also leftovers
    of an interrupted one)."""
    g = guests_module()
    if alive('ovn-nb'):
        nbctl('--if-exists', 'ls-del', CHECK_SWITCH, timeout=5)
    for port in CHECK_PORTS:
        if alive('ovsdb-server'):
            g._vsctl('--if-exists', 'del-port', 'br-int', port.dev + 'o', check=False)
        g._run(['ip', 'link', 'del', port.dev + 'o'], check=False)
        if os.path.exists(os.path.join('/run/netns', port.ns)):
            g._run(['ip', 'netns', 'del', port.ns], check=False)


def dataplane_check():
    """Proves that the running backend's dataplane forwards (see dataplane_check_ovn and
    dataplane_check_ml2ovs)."""
    if running_backend() == 'ovn':
        dataplane_check_ovn()
    else:
        dataplane_check_ml2ovs()


def dataplane_check_ovn():
    """Proves that OVN forwards, within CHECK_BUDGET seconds; raises CloudError('dataplane')
    naming the part that failed. Leaves nothing behind."""
    g = guests_module()
    t0 = time.monotonic()

    def left():
        return max(1.0, CHECK_BUDGET - (time.monotonic() - t0))

    (ns1, ip1), (ns2, ip2) = [(port.ns, port.ip) for port in CHECK_PORTS]
    steps = [
        ('a scratch logical switch with 2 ports in OVN northbound', add_check_switch),
        ('two scratch namespaces on br-int', lambda: add_check_namespaces(g)),
        ('ovn-controller binds both ports to this chassis (Port_Binding.chassis)',
         lambda: wait_check_bound(t0 + CHECK_BUDGET)),
        ('OVN applies the flows on this chassis (ovn-nbctl --wait=hv sync)', lambda: check_sync(left)),
        ('ping %s -> %s' % (ip1, ip2), lambda: check_ping(ns1, ip2, left)),
        ('TCP handshake %s -> %s:%d' % (ip1, ip2, CHECK_TCP_PORT), lambda: check_handshake(ns1, ns2, ip2, left)),
    ]
    run_check_steps(steps, t0, remove_dataplane_check, 'OVN', logfile('ovn-controller'))
    say('  dataplane: OVN bound 2 scratch ports and forwarded a ping and a TCP handshake '
        'between them (%.1fs)' % (time.monotonic() - t0))


def run_check_steps(steps, t0, cleanup, backend, log):
    """Runs the (what, step) steps after and before `cleanup`; raises CloudError('dataplane')
    naming the step that failed."""
    g = guests_module()
    part = steps[0][0]
    try:
        cleanup()
        for what, step in steps:
            part = what
            step()
    except (CloudError, OSError, subprocess.SubprocessError, g.GuestError) as exc:
        raise CloudError('dataplane', '%s does not forward: %s failed after %.1fs: %s' % (
            backend, part, time.monotonic() - t0, exc), log=log)
    finally:
        cleanup()


def add_check_switch():
    cmd = ['--', 'ls-add', CHECK_SWITCH]
    for port in CHECK_PORTS:
        cmd += ['--', 'lsp-add', CHECK_SWITCH, port.dev, '--', 'lsp-set-addresses', port.dev,
                '%s %s' % (port.mac, port.ip)]
    proc = nbctl(*cmd)
    if proc.returncode:
        raise CloudError('dataplane', 'ovn-nbctl: %s' % proc.stderr.strip())


def add_check_namespaces(g, ports=None, iface_ids=None, hybrid=False, prefix=24):
    """Per check port: a namespace and a veth pair, the inner end in the namespace with the
    port's MAC and IP, the outer end on br-int bound to the port (external_ids:iface-id: the
    port's name, or iface_ids[i], a Neutron port, whose outer end is then tap<port id> as a
    guest's); hybrid: the outer end in a Linux bridge as os-vif's hybrid plug (portsec_guests),
    whose qvo end is on br-int, so that iptables_hybrid's rules for the tap filter it."""
    for i, (ns, dev, mac, ip) in enumerate(ports or CHECK_PORTS):
        outer = g.ovs_dev(iface_ids[i]) if iface_ids else dev + 'o'
        g._run(['ip', 'netns', 'add', ns])
        g._run(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', dev + 'i'])
        g._run(['ip', 'link', 'set', dev + 'i', 'address', mac])
        g.tx_checksum_off(dev + 'i')
        g.tx_checksum_off(outer)
        g._run(['ip', 'link', 'set', dev + 'i', 'netns', ns, 'name', 'eth0'])
        g._run(['ip', '-n', ns, 'addr', 'add', '%s/%d' % (ip, prefix), 'dev', 'eth0'])
        g._run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
        g._run(['ip', 'link', 'set', outer, 'up'])
        iface_id = iface_ids[i] if iface_ids else dev
        ovs_port = g._plug_hybrid(iface_id, outer) if hybrid else outer
        g._vsctl('add-port', 'br-int', ovs_port, '--', 'set', 'Interface', ovs_port,
                 'type=system', 'external_ids:iface-id=%s' % iface_id,
                 'external_ids:attached-mac=%s' % mac, 'external_ids:iface-status=active')


def wait_check_bound(deadline):
    while True:
        unbound = [port.dev for port in CHECK_PORTS
                   if not sbctl('--bare', '--columns=chassis', 'find', 'Port_Binding',
                                'logical_port=%s' % port.dev)]
        if not unbound:
            return
        if time.monotonic() > deadline:
            raise CloudError('dataplane', 'not bound after %ds: %s' % (
                CHECK_BUDGET, ', '.join(unbound)))
        time.sleep(0.2)


def check_sync(left):
    proc = nbctl('--wait=hv', 'sync', timeout=int(left()))
    if proc.returncode:
        raise CloudError('dataplane', proc.stderr.strip() or 'exited %d' % proc.returncode)


def check_ping(ns1, ip2, left):
    proc = subprocess.run(['ip', 'netns', 'exec', ns1, 'ping', '-n', '-c', '1', '-W',
                           str(int(min(3, left()))), ip2], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)
    if proc.returncode:
        raise CloudError('dataplane', 'no answer: %s' % (proc.stdout.strip().splitlines() or ['?'])[-1])


def check_handshake(ns1, ns2, ip2, left):
    """A listener in ns2, one connection to it from ns1."""
    listener = subprocess.Popen(['ip', 'netns', 'exec', ns2, sys.executable, '-c', LISTENER,
                                 ip2, str(CHECK_TCP_PORT), str(int(left()))],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
    try:
        if listener.stdout.readline().strip() != 'listening':
            raise CloudError('dataplane', 'the listener in %s did not start' % ns2)
        proc = subprocess.run(['ip', 'netns', 'exec', ns1, sys.executable, '-c', CONNECT, ip2,
                               str(CHECK_TCP_PORT), str(min(3, left()))],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              check=False)
        if proc.returncode:
            raise CloudError('dataplane', 'no handshake: %s' % (
                proc.stderr.strip().splitlines() or ['?'])[-1])
        listener.wait(timeout=left())
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()


# ML2/OVS: the same two namespaces, as two Neutron ports on the shared network, in a scratch
# group that admits its own members. Neutron binds them to this host; the Open vSwitch agent
# wires them (local VLAN, flows, firewall) and the packets pass through its filter.
ML2OVS_CHECK_GROUP = 'portsec-dataplane-check'
ML2OVS_CHECK_BUDGET = 40


def remove_ml2ovs_check_ports(pw, token):
    """The check's Neutron ports and group (also leftovers of an interrupted check)."""
    g = guests_module()
    for port in CHECK_PORTS:
        found = admin_call(pw, 'neutron-api', 'GET', '/v2.0/ports?name=%s' % port.ns, token=token) or {}
        for p in found.get('ports', []):
            g._remove_ovs_side(p['id'], g.ovs_dev(p['id']))     # tap<id>, and a hybrid plug's bridge and veths
            admin_call(pw, 'neutron-api', 'DELETE', '/v2.0/ports/%s' % p['id'], token=token)
    found = admin_call(pw, 'neutron-api', 'GET', '/v2.0/security-groups?name=%s' % ML2OVS_CHECK_GROUP,
                       token=token) or {}
    for group in found.get('security_groups', []):
        admin_call(pw, 'neutron-api', 'DELETE', '/v2.0/security-groups/%s' % group['id'], token=token)


def add_ml2ovs_check_ports(pw, token):
    """Two ports on portsec-shared bound to this host, in a group admitting its members;
    returns [(port id, MAC, IP)]."""
    net = (admin_call(pw, 'neutron-api', 'GET', '/v2.0/networks?name=portsec-shared', token=token) or {}).get('networks')
    if not net:
        raise CloudError('dataplane', 'no network portsec-shared to check on')
    group = admin_call(pw, 'neutron-api', 'POST', '/v2.0/security-groups',
                       {'security_group': {'name': ML2OVS_CHECK_GROUP}}, token=token)
    if not group:
        raise CloudError('dataplane', 'could not create the group %s' % ML2OVS_CHECK_GROUP)
    group_id = group['security_group']['id']
    admin_call(pw, 'neutron-api', 'POST', '/v2.0/security-group-rules', {'security_group_rule': {
        'security_group_id': group_id, 'direction': 'ingress', 'ethertype': 'IPv4',
        'remote_group_id': group_id}}, token=token)
    made = []
    for port in CHECK_PORTS:
        answer = admin_call(pw, 'neutron-api', 'POST', '/v2.0/ports', {'port': {
            'name': port.ns, 'network_id': net[0]['id'], 'security_groups': [group_id],
            'binding:host_id': HOST, 'device_owner': 'portsec:dataplane-check'}}, token=token)
        if not answer:
            raise CloudError('dataplane', 'could not create the port %s' % port.ns)
        p = answer['port']
        if p.get('binding:vif_type') != 'ovs':
            raise CloudError('dataplane', 'port %s is not bound by the Open vSwitch mechanism '
                             '(binding:vif_type %s)' % (port.ns, p.get('binding:vif_type')))
        made.append((p['id'], p['mac_address'], p['fixed_ips'][0]['ip_address'],
                     bool((p.get('binding:vif_details') or {}).get('ovs_hybrid_plug'))))
    return made


def dataplane_check_ml2ovs():
    """Proves that the Open vSwitch agent wires and filters ports and the datapath forwards,
    within ML2OVS_CHECK_BUDGET seconds; raises CloudError('dataplane') naming the part that
    failed. Leaves nothing behind."""
    g = guests_module()
    pw = load_secrets()
    token = os_token(pw)
    t0 = time.monotonic()

    def left():
        return max(1.0, ML2OVS_CHECK_BUDGET - (time.monotonic() - t0))

    made = []
    steps = [
        ('two Neutron ports on portsec-shared, bound to %s' % HOST,
         lambda: made.extend(add_ml2ovs_check_ports(pw, token))),
        ('two scratch namespaces on br-int',
         lambda: add_check_namespaces(g, [p._replace(mac=m[1], ip=m[2]) for p, m in zip(CHECK_PORTS, made)],
                                      [m[0] for m in made], hybrid=made[0][3])),
        ('the Open vSwitch agent wires both ports and applies its filter (cloud settle)',
         lambda: check_settled(left)),
        ('ping', lambda: check_ping(CHECK_PORTS[0].ns, made[1][2], left)),
        ('TCP handshake', lambda: check_handshake(CHECK_PORTS[0].ns, CHECK_PORTS[1].ns, made[1][2], left)),
    ]

    def cleanup():
        remove_dataplane_check()
        remove_ml2ovs_check_ports(pw, token)

    run_check_steps(steps, t0, cleanup, 'ML2/OVS', logfile('neutron-openvswitch-agent'))
    say('  dataplane: the Open vSwitch agent wired 2 Neutron ports (%s) and their group passed a '
        'ping and a TCP handshake between them (%.1fs)' % (
            'hybrid plug' if made and made[0][3] else 'on br-int', time.monotonic() - t0))


def check_settled(left):
    ok, _took, message = cloud_ml2ovs.settle(left())
    if not ok:
        raise CloudError('dataplane', message)
