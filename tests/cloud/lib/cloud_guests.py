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

from cloud_common import LIB, OVS_DB, STATE, CloudError, logfile, say
from cloud_ovn import nbctl, sbctl
from cloud_procs import alive


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
    part = steps[0][0]
    try:
        remove_dataplane_check()
        for what, step in steps:
            part = what
            step()
    except (CloudError, OSError, subprocess.SubprocessError, g.GuestError) as exc:
        raise CloudError('dataplane', 'OVN does not forward: %s failed after %.1fs: %s' % (
            part, time.monotonic() - t0, exc), log=logfile('ovn-controller'))
    finally:
        remove_dataplane_check()
    say('  dataplane: OVN bound 2 scratch ports and forwarded a ping and a TCP handshake '
        'between them (%.1fs)' % (time.monotonic() - t0))


def add_check_switch():
    cmd = ['--', 'ls-add', CHECK_SWITCH]
    for port in CHECK_PORTS:
        cmd += ['--', 'lsp-add', CHECK_SWITCH, port.dev, '--', 'lsp-set-addresses', port.dev,
                '%s %s' % (port.mac, port.ip)]
    proc = nbctl(*cmd)
    if proc.returncode:
        raise CloudError('dataplane', 'ovn-nbctl: %s' % proc.stderr.strip())


def add_check_namespaces(g):
    """Per check port: a namespace and a veth pair, the inner end in the namespace with the
    port's MAC and IP, the outer end on br-int bound to the port (external_ids:iface-id)."""
    for ns, dev, mac, ip in CHECK_PORTS:
        g._run(['ip', 'netns', 'add', ns])
        g._run(['ip', 'link', 'add', dev + 'o', 'type', 'veth', 'peer', 'name', dev + 'i'])
        g._run(['ip', 'link', 'set', dev + 'i', 'address', mac])
        g.tx_checksum_off(dev + 'i')
        g.tx_checksum_off(dev + 'o')
        g._run(['ip', 'link', 'set', dev + 'i', 'netns', ns, 'name', 'eth0'])
        g._run(['ip', '-n', ns, 'addr', 'add', ip + '/24', 'dev', 'eth0'])
        g._run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
        g._run(['ip', 'link', 'set', dev + 'o', 'up'])
        g._vsctl('add-port', 'br-int', dev + 'o', '--', 'set', 'Interface', dev + 'o',
                 'type=system', 'external_ids:iface-id=%s' % dev)


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
