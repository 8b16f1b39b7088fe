#!/usr/bin/env python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmark: portsec.openstack vs openstack.cloud.port on the local cloud.

Counts the HTTP requests that reach Keystone, Neutron and Nova (through counting
proxies that the SDK uses as its endpoints) and the wall time of each
ansible-playbook run, for:
  - no-op and change on one port, by ID and by name;
  - N ports: our one bulk task vs a loop of openstack.cloud.port vs a loop of
    our single-port task (no-op and change);
  - the Case 3 playbook: first run and idempotent re-run (writes must be 0).
Each comparison runs both sides in the same invocation, several rounds, and
reports medians and the ratio. Also checks our documented request budgets.

Then the race of docs/reliability.md with openstack.cloud.port: 8 separate
ansible-playbook processes (tests/tools/race.py) each add a different pair to one
port without pairs, at the same time; it prints how many pairs survived. And the
race the lost-update guarantee does not cover: our task against the openstack CLI
(installed on first use into .venvs/openstackclient), 10 runs; it prints how often
each side's pair was lost and how often our write landed on top of the CLI's.

    make bench                    # defaults: 20 ports, 3 rounds, the race with 8 writers
    make bench BENCH_ARGS="--ports 200 --rounds 3"
    make bench BENCH_ARGS="--race-only"                    # only the two races
    make bench BENCH_ARGS="--race-only --race-writers 0 --cli-race-runs 30"   # only the CLI race
"""

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import openstack
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests' / 'tools'))
from apiproxy import ApiProxy  # noqa: E402

PREFIX = 'bench-'

PLAY = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/portsec.openstack.openstack:
      cloud: "{{ bench_cloud }}"
    group/openstack.cloud.openstack:
      cloud: "{{ bench_cloud }}"
  tasks:
%s
'''


def task(body):
    return '\n'.join('    ' + line for line in yaml.safe_dump([body], sort_keys=False).splitlines())


class Bench:
    def __init__(self, config, workdir):
        self.config = config
        self.workdir = workdir
        self.admin = openstack.connect(**config['cloud_admin'])
        self.proxies = {}
        self.runs = []

    # -- fixtures ------------------------------------------------------------------------
    def setup(self, count):
        net = self.admin.network
        self.cleanup()
        self.network = net.create_network(name=PREFIX + 'net')
        net.create_subnet(name=PREFIX + 'subnet', network_id=self.network.id, ip_version=4,
                          cidr='10.99.0.0/16')
        self.group = net.create_security_group(name=PREFIX + 'sg')
        body = [{'name': '%sport-%03d' % (PREFIX, index), 'network_id': self.network.id,
                 'security_groups': [self.group.id]} for index in range(count)]
        ports = []
        for start in range(0, len(body), 100):
            response = net.post('/ports', json={'ports': body[start:start + 100]})
            ports.extend(response.json()['ports'])
        self.ports = ports
        self.one = ports[0]

    def reset_pairs(self, ports):
        for port in ports:
            current = self.admin.network.get_port(port['id'])
            if current.allowed_address_pairs:
                self.admin.network.update_port(port['id'], allowed_address_pairs=[])

    def cleanup(self):
        net = self.admin.network
        for port in net.ports(name=None):
            if (port.name or '').startswith(PREFIX):
                net.delete_port(port.id)
        for group in net.security_groups(name=PREFIX + 'sg'):
            net.delete_security_group(group.id)
        for network in net.networks(name=PREFIX + 'net'):
            net.delete_network(network.id)

    # -- proxies -------------------------------------------------------------------------
    def start_proxies(self):
        auth_url = self.config['cloud_admin']['auth']['auth_url']
        self.proxies['keystone'] = ApiProxy(auth_url).start()
        # The unversioned root, as in the catalog: the SDK's version discovery goes through too.
        root = re.sub(r'/v2\.0/?$', '/', self.admin.network.get_endpoint())
        self.proxies['neutron'] = ApiProxy(root).start()
        self.proxies['nova'] = ApiProxy(self.admin.compute.get_endpoint()).start()
        cloud = json.loads(json.dumps(self.config['cloud_admin']))
        cloud['auth']['auth_url'] = self.proxies['keystone'].url
        cloud['network_endpoint_override'] = self.proxies['neutron'].url
        cloud['compute_endpoint_override'] = self.proxies['nova'].url
        self.cloud = cloud

    def counts(self):
        result = {}
        for name, proxy in self.proxies.items():
            result[name] = proxy.count()
            result[name + '_writes'] = sum(proxy.count(method=m) for m in ('POST', 'PUT', 'DELETE', 'PATCH'))
        # Keystone token requests are POSTs but not writes to the cloud's resources.
        result['writes'] = result['neutron_writes'] + result['nova_writes']
        return result

    # -- runs ----------------------------------------------------------------------------
    def play(self, label, tasks, extra=None, playbook=None):
        path = playbook
        if path is None:
            path = os.path.join(self.workdir, '%s.yml' % label.replace(' ', '_'))
            with open(path, 'w') as handle:
                handle.write(PLAY % '\n'.join(task(body) for body in tasks))
        variables = os.path.join(self.workdir, 'vars.json')
        with open(variables, 'w') as handle:
            json.dump(dict(self.config, bench_cloud=self.cloud, cloud=self.cloud, **(extra or {})), handle)
        for proxy in self.proxies.values():
            proxy.reset_counts()
        started = time.monotonic()
        proc = subprocess.run(
            [str(pathlib.Path(sys.executable).parent / 'ansible-playbook'), path, '-e', '@' + variables],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:])
            raise SystemExit('benchmark run %r failed (exit %d)' % (label, proc.returncode))
        run = dict(label=label, seconds=seconds, **self.counts())
        changed = [line for line in proc.stdout.splitlines() if 'changed=' in line]
        run['changed'] = int(changed[-1].split('changed=')[1].split()[0]) if changed else None
        self.runs.append(run)
        return run


def cloud_port_race(bench, writers):
    """The race of docs/reliability.md with openstack.cloud.port: `writers` separate
    ansible-playbook processes, started together, each add a different pair to one port
    without pairs. openstack.cloud.port replaces the whole list (each writer sends the pairs it
    saw plus its own) and sends no revision precondition: a measurement, not a test."""
    net = bench.admin.network
    port = net.create_port(name=PREFIX + 'race', network_id=bench.network.id,
                           security_group_ids=[bench.group.id])
    ops = ['--op=cloud-pair:10.99.202.%d' % (index + 1) for index in range(writers)]
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tests' / 'tools' / 'race.py'),
         '--cloud', json.dumps(bench.config['cloud_admin']), '--port', port.id] + ops,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit('the openstack.cloud.port race failed (exit %d)' % proc.returncode)
    result = json.loads(proc.stdout)
    result['wall_seconds'] = time.monotonic() - started
    return result


def openstack_cli():
    """The openstack CLI (python-openstackclient), in a venv of its own under .venvs/ (made on
    first use): make test needs none of it."""
    venv = ROOT / '.venvs' / 'openstackclient'
    cli = venv / 'bin' / 'openstack'
    if not cli.exists():
        print('installing the openstack CLI into %s...' % venv.relative_to(ROOT), flush=True)
        subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
        subprocess.run([str(venv / 'bin' / 'pip'), 'install', '-q', '-c', str(ROOT / 'tools' / 'constraints.txt'),
                        'python-openstackclient'], check=True)
    return str(cli)


def cli_race(bench, runs):
    """What the lost-update guarantee does not cover (docs/reliability.md), measured: in each
    run our allowed_address_pair task and `openstack port set --allowed-address` each add a
    different pair to one port without pairs, both reads held until both have read (so they plan
    from the same revision). Ours sends If-Match and reads back; the CLI sends the whole list
    without If-Match. Counts the runs where each side's pair is missing at the end, and those
    where our write, planned from the same revision, committed after the CLI's without a 412
    (its answer's revision two past the start)."""
    cli = openstack_cli()
    net = bench.admin.network
    port = net.create_port(name=PREFIX + 'cli-race', network_id=bench.network.id,
                           security_group_ids=[bench.group.id])
    ours, theirs = '10.99.203.1', '10.99.203.2'
    rows = []
    for attempt in range(runs):
        print('  run %d of %d' % (attempt + 1, runs), flush=True)
        if net.get_port(port.id).allowed_address_pairs:
            net.update_port(port.id, allowed_address_pairs=[])
        proc = subprocess.run(
            [sys.executable, str(ROOT / 'tests' / 'tools' / 'race.py'), '--cloud', json.dumps(bench.config['cloud_admin']),
             '--port', port.id, '--cli', cli, '--op=pair:' + ours, '--op=cli-pair:' + theirs],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit('the openstack CLI race failed (exit %d)' % proc.returncode)
        result = json.loads(proc.stdout)
        module, other = result['writers']
        rows.append({'ours_kept': ours in result['final_pairs'], 'theirs_kept': theirs in result['final_pairs'],
                     # our write committed after the CLI's, from the same read, and was not refused
                     'ours_on_top': module['revision'] == result['start_revision'] + 2 and not result['precondition_failures'],
                     'rcs': (module['rc'], other['rc']), 'puts': result['puts'], 'held': result['held_reads']})
    net.delete_port(port.id)
    return rows


def median_runs(runs):
    keys = [key for key in runs[0] if isinstance(runs[0][key], (int, float)) and key != 'changed']
    result = {key: statistics.median(run[key] for run in runs) for key in keys}
    result['changed'] = runs[-1]['changed']
    return result


def ours_single(ref, **options):
    return {'name': 'ours', 'portsec.openstack.allowed_address_pair': dict(port=ref, **options)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--ports', type=int, default=20, help='ports for the bulk comparison (default 20)')
    parser.add_argument('--rounds', type=int, default=3, help='rounds per comparison (default 3)')
    parser.add_argument('--loop-rounds', type=int,
                        help='rounds for the many-port comparison (default: --rounds); each round of a'
                             ' loop side is one module run per port, so 200 ports take minutes per round')
    parser.add_argument('--config', default=str(ROOT / 'tests' / 'integration' / 'integration_config.yml'))
    parser.add_argument('--skip-case3', action='store_true', help='skip the Case 3 playbook runs')
    parser.add_argument('--json', help='also write the medians to this file')
    parser.add_argument('--case3-only', action='store_true', help='only the Case 3 playbook runs')
    parser.add_argument('--race-writers', type=int, default=8,
                        help='writers in the openstack.cloud.port race of docs/reliability.md (default 8; 0 skips it)')
    parser.add_argument('--race-only', action='store_true', help='only the races (openstack.cloud.port, openstack CLI)')
    parser.add_argument('--cli-race-runs', type=int, default=10,
                        help='runs of the openstack CLI race of docs/reliability.md (default 10; 0 skips it)')
    args = parser.parse_args()
    if args.race_only and args.race_writers < 1 and args.cli_race_runs < 1:
        parser.error('--race-only needs --race-writers or --cli-race-runs of at least 1')

    with open(args.config) as handle:
        config = yaml.safe_load(handle)
    workdir = tempfile.mkdtemp(prefix='portsec-bench-')
    bench = Bench(config, workdir)
    ports = 1 if args.race_only else max(args.ports, 1)
    print('setting up %d ports...' % ports, flush=True)
    bench.setup(ports)
    bench.start_proxies()
    one = bench.one
    net_name = PREFIX + 'net'
    group = PREFIX + 'sg'
    table = []
    budget_failures = []

    def compare(title, sides, before_each=None, rounds=None):
        medians = {}
        for _round in range(rounds or args.rounds):
            for side, (tasks, extra) in sides.items():
                if before_each:
                    before_each()
                bench.play('%s %s' % (title, side), tasks, extra)
        for side in sides:
            runs = [run for run in bench.runs if run['label'] == '%s %s' % (title, side)]
            medians[side] = median_runs(runs)
        table.append((title, medians))
        return medians

    if not args.case3_only and not args.race_only:
        # One port: a no-op (the pair is there) and a change (the pair is missing).
        for by, ref in (('by ID', one['id']), ('by name', one['name'])):
            theirs = {'name': 'openstack.cloud.port', 'openstack.cloud.port': {
                'name': ref, 'network': net_name, 'security_groups': [group],
                'allowed_address_pairs': [{'ip_address': '10.99.200.1'}]}}
            bench.admin.network.update_port(one['id'], allowed_address_pairs=[{'ip_address': '10.99.200.1'}])
            noop = compare('1 port no-op %s' % by, {
                'ours': ([ours_single(ref, pair='10.99.200.1')], None),
                'openstack.cloud.port': ([theirs], None)})
            change = compare('1 port change %s' % by, {
                'ours': ([ours_single(ref, pair='10.99.200.1')], None),
                'openstack.cloud.port': ([theirs], None)},
                before_each=lambda: bench.reset_pairs([one]))
            # Documented budget (allowed_address_pair notes): Keystone 2 (discovery, token);
            # Neutron: discovery, the port (GET or list); a change adds the revision-if-match
            # look-up (once per task), a PUT and a read-back GET.
            for label, medians, neutron_budget in (('no-op', noop, 2), ('change', change, 5)):
                ours = medians['ours']
                if ours['keystone'] > 2 or ours['neutron'] > neutron_budget:
                    budget_failures.append('%s %s: keystone %s, neutron %s (budget 2, %d)' % (
                        label, by, ours['keystone'], ours['neutron'], neutron_budget))
            theirs_noop = noop['openstack.cloud.port']
            if 2 * (noop['ours']['keystone'] + noop['ours']['neutron']) > theirs_noop['keystone'] + theirs_noop['neutron']:
                budget_failures.append('no-op %s: more than half of openstack.cloud.port\'s requests' % by)

        # Many ports.
        names = [port['name'] for port in bench.ports[:args.ports]]
        pair = '10.99.201.1'
        bulk = {'name': 'ours bulk', 'portsec.openstack.allowed_address_pair': {
            'port_filters': {'network': net_name, 'name': PREFIX + 'port-*'}, 'pair': pair}}
        loop_ours = {'name': 'ours loop', 'portsec.openstack.allowed_address_pair': {
            'port': '{{ item }}', 'pair': pair}, 'loop': names}
        loop_theirs = {'name': 'their loop', 'openstack.cloud.port': {
            'name': '{{ item }}', 'network': net_name, 'allowed_address_pairs': [{'ip_address': pair}]},
            'loop': names}
        sides = {'ours bulk': ([bulk], None), 'ours loop': ([loop_ours], None),
                 'openstack.cloud.port loop': ([loop_theirs], None)}
        many_change = compare('%d ports change' % args.ports, sides,
                              before_each=lambda: bench.reset_pairs(bench.ports[:args.ports]),
                              rounds=args.loop_rounds)
        many_noop = compare('%d ports no-op' % args.ports, sides, rounds=args.loop_rounds)
        # Bulk: discovery, the network by name, the ports; a change adds the revision-if-match
        # look-up (once per task), and per changed port PUT + read-back GET.
        if many_noop['ours bulk']['neutron'] > 3 or many_noop['ours bulk']['keystone'] > 2:
            budget_failures.append('bulk no-op: neutron %s (budget 3)' % many_noop['ours bulk']['neutron'])
        if many_change['ours bulk']['neutron'] > 4 + 2 * args.ports:
            budget_failures.append('bulk change: neutron %s (budget %d)' % (
                many_change['ours bulk']['neutron'], 4 + 2 * args.ports))
        for medians in (many_noop, many_change):
            if medians['ours bulk']['writes'] and medians is many_noop:
                budget_failures.append('bulk no-op wrote %s times' % medians['ours bulk']['writes'])

    # Case 3 playbook: first run and re-run.
    case3 = ROOT / 'playbooks' / 'case3.yml'
    if not args.skip_case3 and not args.race_only and case3.exists():
        # Both playbooks take the prefix as `prefix`; start from nothing.
        extra = {'prefix': 'bench3'}
        bench.play('case3 cleanup', None, extra, playbook=str(ROOT / 'playbooks' / 'teardown.yml'))
        for _round in range(args.rounds):
            bench.play('case3 first run', None, extra, playbook=str(case3))
            bench.play('case3 re-run', None, extra, playbook=str(case3))
            bench.play('case3 teardown', None, extra, playbook=str(ROOT / 'playbooks' / 'teardown.yml'))
        first = median_runs([run for run in bench.runs if run['label'] == 'case3 first run'])
        rerun = median_runs([run for run in bench.runs if run['label'] == 'case3 re-run'])
        table.append(('Case 3 playbook', {'first run': first, 're-run': rerun}))
        rerun_writes = max(run['writes'] for run in bench.runs if run['label'] == 'case3 re-run')
        if rerun_writes:
            budget_failures.append('Case 3 re-run wrote %d times' % rerun_writes)

    race = None
    if args.race_writers > 0 and not args.case3_only:
        print('openstack.cloud.port race, %d writers...' % args.race_writers, flush=True)
        race = cloud_port_race(bench, args.race_writers)

    race_failure = None
    cli_rows = []
    if args.cli_race_runs > 0 and not args.case3_only:
        print('openstack CLI race, %d runs...' % args.cli_race_runs, flush=True)
        cli_rows = cli_race(bench, args.cli_race_runs)

    bench.cleanup()
    for proxy in bench.proxies.values():
        proxy.stop()

    if cli_rows:
        lost_theirs = [row for row in cli_rows if not row['theirs_kept']]
        print()
        print('openstack CLI race (docs/reliability.md): %d runs, both reads held until both had read;'
              " the CLI's pair lost in %d, ours lost in %d; our write committed on top of the CLI's without a 412 in %d"
              ' (%d of them runs where the CLI\'s pair was lost); exit codes %s; PUTs per run %s' % (
                  len(cli_rows), len(lost_theirs), sum(1 for row in cli_rows if not row['ours_kept']),
                  sum(1 for row in cli_rows if row['ours_on_top']), sum(1 for row in lost_theirs if row['ours_on_top']),
                  sorted({row['rcs'] for row in cli_rows}), [row['puts'] for row in cli_rows]))
        if any(row['rcs'] != (0, 0) for row in cli_rows):
            race_failure = 'CLI RACE RUN INCOMPLETE: a writer failed: %s' % [row['rcs'] for row in cli_rows]

    if race is not None:
        writers = race['writers']
        print()
        print('openstack.cloud.port race (docs/reliability.md): %d of %d pairs survived (%s); writers exited %s,'
              ' reported changed %s; %d PUTs, %d answered 412; %.1f s' % (
                  len(race['final_pairs']), args.race_writers, ', '.join(race['final_pairs']),
                  [writer['rc'] for writer in writers], [writer['changed'] for writer in writers],
                  race['puts'], race['precondition_failures'], race['wall_seconds']))
        # Measured, not asserted; but every writer must have run and one pair at least landed.
        if len(writers) != args.race_writers or not race['final_pairs']:
            race_failure = 'RACE RUN INCOMPLETE: %d of %d writers ran, %d pairs on the port' % (
                len(writers), args.race_writers, len(race['final_pairs']))
    if not table:
        if race_failure:
            print(race_failure)
            return 1
        return 0

    print()
    print('| comparison | side | wall s (median) | Keystone | Neutron | Nova | writes | changed | vs ours |')
    print('|---|---|---:|---:|---:|---:|---:|---:|---:|')
    for title, medians in table:
        base = next(iter(medians.values()))
        for side, row in medians.items():
            ratio = row['seconds'] / base['seconds'] if base['seconds'] else 0
            print('| %s | %s | %.2f | %d | %d | %d | %d | %s | %s |' % (
                title, side, row['seconds'], row['keystone'], row['neutron'], row['nova'],
                row['writes'], row['changed'], '' if row is base else '%.1f×' % ratio))
    print()
    print('rounds: %d (many ports: %d), ports: %d, python %s' % (
        args.rounds, args.loop_rounds or args.rounds, args.ports, sys.version.split()[0]))
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump([[title, medians] for title, medians in table], handle, indent=1)
    if race_failure:
        print(race_failure)
    if budget_failures:
        print('REQUEST BUDGET EXCEEDED: ' + '; '.join(budget_failures))
        return 1
    print('request budgets: kept')
    return 1 if race_failure else 0


if __name__ == '__main__':
    sys.exit(main())
