#!/usr/bin/env python
# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Packet probes for the dataplane targets, run inside a guest's network namespace.

  probe.py listen PORT[,PORT...] SECONDS      TCP listeners on all addresses (IPv4 and IPv6), for SECONDS
  probe.py tcp SOURCE DESTINATION PORT [TIMEOUT]
      connect from SOURCE; prints `open` (handshake done, exit 0), `timeout` (dropped;
      exit 1), `refused` (RST: the packets passed but nothing listens; exit 3) or
      `error ...` (the probe could not run, e.g. SOURCE is not an address here; exit 2)
"""

import os
import select
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


def main(argv):
    if len(argv) == 3 and argv[0] == 'listen':
        return listen([int(p) for p in argv[1].split(',')], float(argv[2]))
    if len(argv) in (4, 5) and argv[0] == 'tcp':
        return tcp(argv[1], argv[2], int(argv[3]), float(argv[4]) if len(argv) == 5 else 3.0)
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
