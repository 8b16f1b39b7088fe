#!/usr/bin/env python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Force concurrent writers on one port and report what Neutron holds afterwards.

A small HTTP proxy sits between the writers and Neutron. It holds every writer's
first read of the port (GET /ports/<id>) until all K writers have read it, so
they all plan from the same revision and race to write. The proxy counts the
412 answers Neutron gives to the losers. K separate ansible-playbook processes
then each run one task of ours (or openstack.cloud.port with --module
openstack.cloud.port, to measure what the same race does to it).

Prints one JSON document: per-writer results, 412 count, final port.
"""

import argparse
import http.client
import http.server
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import openstack


class Barrier:
    def __init__(self, parties, timeout):
        self.parties = parties
        self.timeout = timeout
        self.arrived = 0
        self.cond = threading.Condition()

    def wait(self):
        with self.cond:
            if self.arrived >= self.parties:
                return False
            self.arrived += 1
            if self.arrived >= self.parties:
                self.cond.notify_all()
            else:
                self.cond.wait_for(lambda: self.arrived >= self.parties, self.timeout)
            return True


def make_proxy(upstream, port_id, barrier, stats):
    target = urllib.parse.urlsplit(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            return

        def _forward(self):
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else None
            path = self.path
            if self.command == 'GET' and path.split('?')[0].rstrip('/').endswith('/ports/' + port_id):
                if barrier.wait():
                    stats['held_reads'] += 1
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ('host', 'connection')}
            conn.request(self.command, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            with stats['lock']:
                stats['requests'].append((self.command, path, resp.status))
                if resp.status == 412:
                    stats['412'] += 1
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                    self.send_header(key, value)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(('127.0.0.1', 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


TASKS = {
    'pair': '''
    - name: Add one pair
      portsec.openstack.allowed_address_pair:
        cloud: "{{ race_cloud }}"
        port: "{{ race_port }}"
        pair: "{{ race_value }}"
      register: race_result
''',
    'unpair': '''
    - name: Remove one pair
      portsec.openstack.allowed_address_pair:
        cloud: "{{ race_cloud }}"
        port: "{{ race_port }}"
        pair: "{{ race_value }}"
        state: absent
      register: race_result
''',
    'group': '''
    - name: Add one group
      portsec.openstack.port_security:
        cloud: "{{ race_cloud }}"
        port: "{{ race_port }}"
        security_groups: ["{{ race_value }}"]
        security_groups_mode: add
      register: race_result
''',
    'ungroup': '''
    - name: Remove one group
      portsec.openstack.port_security:
        cloud: "{{ race_cloud }}"
        port: "{{ race_port }}"
        security_groups: ["{{ race_value }}"]
        security_groups_mode: remove
      register: race_result
''',
    # openstack.cloud.port replaces the whole list: it is given "its" pair only.
    'cloud-pair': '''
    - name: Add one pair with openstack.cloud.port
      openstack.cloud.port:
        cloud: "{{ race_cloud }}"
        name: "{{ race_port_name }}"
        network: "{{ race_network }}"
        allowed_address_pairs: "{{ race_current + [{'ip_address': race_value}] }}"
      register: race_result
''',
}

PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  tasks:
%s
    - name: Save the result
      ansible.builtin.copy:
        content: "{{ race_result | to_json }}"
        dest: "{{ race_out }}"
        mode: "0600"
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cloud', required=True, help='cloud config as JSON')
    parser.add_argument('--port', required=True, help='port ID')
    parser.add_argument('--op', action='append', required=True,
                        help='KIND:VALUE, one per writer (KIND: pair, unpair, group, ungroup, cloud-pair)')
    parser.add_argument('--timeout', type=float, default=90)
    args = parser.parse_args()

    cloud = json.loads(args.cloud)
    conn = openstack.connect(**cloud)
    upstream = conn.network.get_endpoint()
    port = conn.network.get_port(args.port)
    current_pairs = [{'ip_address': p['ip_address']} for p in port.allowed_address_pairs or []]

    stats = {'412': 0, 'held_reads': 0, 'requests': [], 'lock': threading.Lock()}
    ops = [op.split(':', 1) for op in args.op]
    # openstack.cloud.port reads by name/list, not GET by ID: only ours are held.
    holders = sum(1 for kind, _v in ops if kind != 'cloud-pair')
    barrier = Barrier(holders or 1, args.timeout)
    proxy = make_proxy(upstream, args.port, barrier, stats)
    proxied = dict(cloud)
    proxied['network_endpoint_override'] = 'http://127.0.0.1:%d%s' % (
        proxy.server_address[1], urllib.parse.urlsplit(upstream).path)

    workdir = tempfile.mkdtemp(prefix='portsec-race-')
    procs = []
    for index, (kind, value) in enumerate(ops):
        playbook = os.path.join(workdir, 'writer%d.yml' % index)
        with open(playbook, 'w') as handle:
            handle.write(PLAYBOOK % TASKS[kind])
        extra = {
            'race_cloud': proxied, 'race_port': args.port, 'race_value': value,
            'race_out': os.path.join(workdir, 'writer%d.json' % index),
            'race_port_name': port.name, 'race_network': port.network_id,
            'race_current': current_pairs,
        }
        extra_file = os.path.join(workdir, 'writer%d.vars.json' % index)
        with open(extra_file, 'w') as handle:
            json.dump(extra, handle)
        log = open(os.path.join(workdir, 'writer%d.log' % index), 'w')
        procs.append((subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
             playbook, '-e', '@' + extra_file],
            stdout=log, stderr=subprocess.STDOUT), kind, value, index))

    started = time.time()
    writers = []
    for proc, kind, value, index in procs:
        rc = proc.wait(timeout=args.timeout + 120)
        result = {}
        out = os.path.join(workdir, 'writer%d.json' % index)
        if os.path.exists(out):
            with open(out) as handle:
                result = json.load(handle)
        writers.append({'op': kind, 'value': value, 'rc': rc,
                        'changed': result.get('changed'),
                        'attempts': result.get('attempts'),
                        'conflicts': result.get('conflicts'),
                        'log': os.path.join(workdir, 'writer%d.log' % index)})
    proxy.shutdown()

    final = openstack.connect(**cloud).network.get_port(args.port)
    print(json.dumps({
        'writers': writers,
        'seconds': round(time.time() - started, 1),
        'held_reads': stats['held_reads'],
        'precondition_failures': stats['412'],
        'puts': sum(1 for method, _p, _s in stats['requests'] if method == 'PUT'),
        'final_pairs': sorted(p['ip_address'] for p in final.allowed_address_pairs or []),
        'final_groups': sorted(final.security_group_ids or []),
        'revision_number': final.revision_number,
    }))


if __name__ == '__main__':
    main()
