#!/usr/bin/env python
# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Packet probes for the dataplane targets, run inside a guest's network namespace.

  probe.py listen PORT[,PORT...] SECONDS      TCP listeners on all addresses (IPv4 and IPv6), for SECONDS
  probe.py tcp SOURCE DESTINATION PORT [TIMEOUT]
      connect from SOURCE; prints `open` (handshake done, exit 0), `timeout` (dropped;
      exit 1), `refused` (RST: the packets passed but nothing listens; exit 3) or
      `error ...` (the probe could not run, e.g. SOURCE is not an address here; exit 2)
  probe.py batch FLOWS_JSON [--retries N]
      run from the host: send every flow at once, each in its namespace, so that the drops
      wait their timeout together. FLOWS_JSON is a list of {"ns", "protocol": "tcp"|"icmp",
      "src", "dst", "port" (tcp), "timeout" (s, 2), "expect" (optional: 0 pass | 1 dropped),
      "seen_in" (icmp, optional: the destination's namespace)}.
      A flow whose exit code is not its "expect" is sent again, at most N times (0 by default),
      1 s apart; its "attempts" say so, and "first" holds what its first attempt got ({"rc",
      "out"}). With "seen_in", "seen" counts the echo requests that namespace's kernel received
      during the flow's last attempt (Icmp InEchos of /proc/net/snmp, Icmp6InEchos of snmp6):
      whether the request reached the destination, whatever happened to its reply. Prints one
      JSON list, in order: {"rc", "out", "attempts", "seconds"[, "seen"][, "first"]}; exit 0 when
      every flow could be sent (2 on bad input).
"""

import json
import os
import select
import subprocess
import socket
import sys
import time


def listen(ports, seconds):
    socks = []
    for port in ports:
        # every address of the namespace, IPv4 and IPv6 (a dual-stack socket)
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(('::', port))
        s.listen(16)
        socks.append(s)
    if os.fork():            # the parent returns once the sockets listen
        return 0
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready = select.select(socks, [], [], 1)[0]
        for s in ready:
            conn = s.accept()[0]
            try:
                conn.sendall(b'hello\n')
            except OSError:
                pass
            conn.close()
    return 0


def tcp(source, destination, port, timeout):
    s = socket.socket(socket.AF_INET6 if ':' in destination else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect((destination, port))
        data = s.recv(16)
        print('open' if data else 'open (no data)')
        return 0
    except ConnectionRefusedError:
        print('refused')
        return 3
    except (socket.timeout, TimeoutError):
        print('timeout')
        return 1
    except OSError as exc:
        print('error %s' % exc)
        return 2
    finally:
        s.close()


def flow_command(flow):
    """The command that sends one flow from the host, inside the flow's namespace."""
    timeout = float(flow.get('timeout', 2))
    if flow['protocol'] == 'icmp':
        inner = ['ping', '-n', '-q', '-c', '1', '-W', '%d' % max(1, round(timeout)), '-I', flow['src'], flow['dst']]
    elif flow['protocol'] == 'tcp':
        inner = [sys.executable, os.path.abspath(__file__), 'tcp', flow['src'], flow['dst'], str(int(flow['port'])), str(timeout)]
    else:
        raise ValueError('protocol must be tcp or icmp, not %r' % flow['protocol'])
    return ['ip', 'netns', 'exec', flow['ns']] + inner


def echo_requests(ns, version):
    """The echo requests the kernel of namespace ns has received (IPv4 or IPv6), from its own
    /proc/net/snmp or snmp6."""
    path = '/proc/net/snmp6' if version == 6 else '/proc/net/snmp'
    text = subprocess.run(['ip', 'netns', 'exec', ns, 'cat', path], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=True).stdout
    if version == 6:
        return int(dict(line.split() for line in text.splitlines() if line.strip())['Icmp6InEchos'])
    rows = [line.split() for line in text.splitlines() if line.startswith('Icmp:')]
    return int(dict(zip(rows[0][1:], rows[1][1:]))['InEchos'])


def _seen(flows, indexes):
    return {i: echo_requests(flows[i]['seen_in'], 6 if ':' in flows[i]['dst'] else 4)
            for i in indexes if flows[i].get('seen_in')}


def batch(flows, retries):
    """Send every flow at once; resend (at most `retries` times) those whose rc is not their expect."""
    results = [{"rc": None, "out": "", "attempts": 0, "seconds": 0.0} for flow in flows]
    pending = list(range(len(flows)))
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(1)
        before = _seen(flows, pending)
        started = time.monotonic()
        procs = {i: subprocess.Popen(flow_command(flows[i]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True) for i in pending}
        for i, proc in procs.items():
            out = proc.communicate()[0]
            results[i].update(rc=proc.returncode, out=out.strip()[-300:], attempts=attempt + 1,
                              seconds=round(time.monotonic() - started, 2))
        for i, count in _seen(flows, before).items():
            results[i]['seen'] = count - before[i]
        pending = [i for i in pending if 'expect' in flows[i] and results[i]['rc'] != flows[i]['expect']]
        if not pending or attempt == retries:
            break
        for i in pending:
            if 'first' not in results[i]:
                results[i]['first'] = {'rc': results[i]['rc'], 'out': results[i]['out']}
    return results


def main(argv):
    if len(argv) in (2, 4) and argv[0] == 'batch':
        retries = 0
        if len(argv) == 4:
            if argv[2] != '--retries' or not argv[3].isdigit():
                sys.stderr.write(__doc__)
                return 2
            retries = int(argv[3])
        try:
            flows = json.loads(argv[1])
            for flow in flows:
                flow_command(flow)
                if flow.get('seen_in') and flow['protocol'] != 'icmp':
                    raise ValueError('seen_in counts echo requests: an icmp flow only, not %r' % flow['protocol'])
        except (ValueError, KeyError, TypeError) as exc:
            sys.stderr.write('probe.py batch: bad FLOWS_JSON (%s): %s\n' % (exc.__class__.__name__, exc))
            return 2
        print(json.dumps(batch(flows, retries)))
        return 0

    if len(argv) == 3 and argv[0] == 'listen':
        return listen([int(p) for p in argv[1].split(',')], float(argv[2]))
    if len(argv) in (4, 5) and argv[0] == 'tcp':
        return tcp(argv[1], argv[2], int(argv[3]), float(argv[4]) if len(argv) == 5 else 3.0)
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
