#!/usr/bin/env python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Force concurrent writers on one port and report what Neutron holds afterwards.

A proxy (tests/tools/apiproxy.py) sits between the writers and Neutron. It holds every writer's
first read of the port (GET /ports/<id>) until all K writers have read it, so
they all plan from the same revision and race to write. The proxy counts the
412 answers Neutron gives to the losers. K separate ansible-playbook processes
then each run one task of ours (or openstack.cloud.port with --module
openstack.cloud.port, to measure what the same race does to it).

Prints one JSON document: per-writer results, 412 count, final port.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import openstack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apiproxy import ApiProxy, ReadBarrier  # pylint: disable=wrong-import-position


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
                        help='KIND:VALUE, one per writer (KIND: pair, unpair, group, ungroup, cloud-pair, cli-pair)')
    parser.add_argument('--cli', help='the openstack CLI, for cli-pair writers'
                        ' (openstack port set --allowed-address: it reads the port, adds the pair'
                        ' to the list and sends the list whole, without If-Match)')
    parser.add_argument('--timeout', type=float, default=90)
    args = parser.parse_args()

    cloud = json.loads(args.cloud)
    conn = openstack.connect(**cloud)
    upstream = conn.network.get_endpoint()
    port = conn.network.get_port(args.port)
    current_pairs = [{'ip_address': p['ip_address']} for p in port.allowed_address_pairs or []]

    ops = [op.split(':', 1) for op in args.op]
    # openstack.cloud.port reads by name/list, not GET by ID: only ours are held.
    holders = sum(1 for kind, _v in ops if kind != 'cloud-pair')
    barrier = ReadBarrier(holders or 1, 'GET', '/ports/' + args.port, args.timeout)
    proxy = ApiProxy(upstream, hooks=[barrier]).start()
    proxied = dict(cloud)
    proxied['network_endpoint_override'] = proxy.url

    workdir = tempfile.mkdtemp(prefix='portsec-race-')
    # The CLI reads its cloud from a clouds.yaml of its own (readable by this user only).
    cli_config = os.path.join(workdir, 'clouds.yaml')
    with open(os.open(cli_config, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
        json.dump({'clouds': {'race': proxied}}, handle)
    procs = []
    for index, (kind, value) in enumerate(ops):
        if kind == 'cli-pair':
            if not args.cli:
                raise SystemExit('cli-pair writers need --cli (the openstack CLI)')
            log = open(os.path.join(workdir, 'writer%d.log' % index), 'w')
            procs.append((subprocess.Popen(
                [args.cli, '--os-cloud', 'race', 'port', 'set', '--allowed-address', 'ip-address=' + value, args.port],
                stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OS_CLIENT_CONFIG_FILE=cli_config)),
                kind, value, index))
            continue
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
                        # the revision our module's answer carried (None for the CLI)
                        'revision': (result.get('port') or {}).get('revision_number'),
                        'log': os.path.join(workdir, 'writer%d.log' % index)})
    proxy.stop()

    final = openstack.connect(**cloud).network.get_port(args.port)
    print(json.dumps({
        'writers': writers,
        'seconds': round(time.time() - started, 1),
        'held_reads': barrier.held,
        'precondition_failures': proxy.count('PUT', status=412),
        # The other answer Neutron gives a writer that lost the race (see
        # CONCURRENT_WRITE_ERRORS in plugins/module_utils/converge.py).
        'duplicate_pair_answers': proxy.count('PUT', status=400),
        'puts': proxy.count('PUT'),
        'final_pairs': sorted(p['ip_address'] for p in final.allowed_address_pairs or []),
        'final_groups': sorted(final.security_group_ids or []),
        'revision_number': final.revision_number,
        'start_revision': port.revision_number,
    }))


if __name__ == '__main__':
    main()
