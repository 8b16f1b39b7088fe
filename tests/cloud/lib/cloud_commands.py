# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sub-commands of tests/cloud/cloud: start (install, initialise, start every process in
order, wait until the cloud is ready and whole), stop, reset, status and restart. Standard
library only."""

import json
import os
import shutil
import signal
import time

from cloud_common import (API_AND_WORKERS, CLOUDS_YAML, DATA, ETC, HOST, INITIALISED, INTEGRATION_CONFIG, LOG, MANAGED, MONITORED,
                          NB_DB, OUTSIDE_ADDRESS, PORTS, RUN, SECRETS, STATE, CloudError, config_file, heartbeat_since, logfile,
                          need_root, run, say, service_env, tail, unlink, vbin)
from cloud_config import CLOUDS, load_secrets, write_client_configs, write_configs
from cloud_guests import dataplane_check, guests_module, remove_dataplane_check, remove_guests
from cloud_install import install_debian, install_driver, install_venv
from cloud_ovn import remove_bridges, start_ovs_ovn
from cloud_procs import alive, daemon_pid, http_ok, kill, kill_group, ours, port_open, read_pid, restart_counts, restarts, spawn, wait_for
from cloud_services import (api_specs, bootstrap, compute_up, db_sync_all, hypervisor_mapped, init_postgresql, ovn_agent_alive,
                            sqlite_wal, start_postgresql, start_rabbitmq, worker_specs)


def everything_up(pw):
    if not all(alive(n) for n in MANAGED):
        return False
    return all(http_ok(spec[2]) for spec in api_specs().values())


def start():
    need_root()
    for p in (STATE, LOG, RUN, ETC, DATA):
        os.makedirs(p, exist_ok=True)
    first = not os.path.exists(INITIALISED)
    up = not first and os.path.exists(SECRETS) and everything_up(load_secrets())
    if up:
        say('the cloud is already running; checking that it is whole')
    ensure_whole(bring_up=not up)
    write_client_configs(load_secrets())
    say('the local cloud is up')
    print_where()


# A process that dies or restarts within this many seconds after the readiness checks is
# caught by ensure_whole (ovn-controller died 0.01 s after its start in the crash it guards
# against; its Neutron agent still looked alive for a minute).
SETTLE = 3
WHOLE_RESTARTS = 2


def not_whole(before):
    """[(name, what happened)] for each process that is down, or that its monitor restarted
    since `before` (restart counts, see restart_counts())."""
    problems = []
    for name in MANAGED:
        count, line = restarts(name)
        if not alive(name):
            problems.append((name, 'is not running'))
        elif count > before.get(name, 0):
            problems.append((name, 'crashed and its monitor restarted it (%s)' % line.strip()))
    return problems


def ensure_whole(bring_up):
    """Brings the cloud up (if `bring_up`), then, after the readiness checks and SETTLE seconds:
    every process alive, none restarted by its monitor during the start, and packets forwarded
    by OVN (dataplane_check). A process that died is started again, at most WHOLE_RESTARTS
    times, saying so with the last lines of its log; then start fails naming it."""
    before = restart_counts()
    for attempt in range(WHOLE_RESTARTS + 1):
        try:
            if bring_up or attempt:
                start_processes(first=not os.path.exists(INITIALISED))
            time.sleep(SETTLE)
            problems = not_whole(before)
            if not problems:
                try:
                    dataplane_check()
                except CloudError:
                    if not not_whole(before):
                        raise       # everything runs, and still OVN does not forward
                problems = not_whole(before)
        except CloudError as exc:
            if exc.service not in MANAGED or alive(exc.service):
                raise               # not a process that died: a real failure
            problems = [(exc.service, 'died (%s)' % exc)]
        if not problems:
            say('  every process is alive (%d), none restarted during the start; OVN forwards'
                % len(MANAGED))
            return
        names = ', '.join(problem[0] for problem in problems)
        if attempt == WHOLE_RESTARTS:
            raise CloudError(problems[0][0], '%s did not stay up after %d restarts: %s' % (
                names, WHOLE_RESTARTS, '; '.join('%s %s' % p for p in problems)))
        for name, what in problems:
            say('%s %s during the start; %s (%d of %d). Last lines of %s:\n%s'
                % (name, what, 'checking again' if alive(name) else 'starting it again',
                   attempt + 1, WHOLE_RESTARTS, logfile(name), tail(logfile(name), 8)))
        before = restart_counts()


def start_processes(first):
    """Install (first use), initialise (first use) and start every process that is not
    running, then wait until the APIs answer, compute reports and OVN's agent is alive."""
    say('starting the local cloud (%s)' % ('first use: install + initialise' if first else 'data kept from the last run'))
    install_debian()
    install_venv()
    install_driver()
    pw = load_secrets()
    write_configs(pw)
    since = heartbeat_since()
    start_backends(pw, first)
    apis = api_specs()
    start_keystone(pw, apis, first)
    start_openstack(apis)
    wait_compute_and_ovn(pw, since)
    if first or not os.path.exists(INITIALISED):
        say('resources: networks portsec-shared (RBAC-shared) and public, flavor, image')
        bootstrap(pw, 'resources')
        open(INITIALISED, 'w').close()


def start_backends(pw, first):
    """PostgreSQL, RabbitMQ, Open vSwitch and OVN, the outside namespace, then the schemas."""
    say('PostgreSQL')
    start_postgresql(pw, first)
    created = init_postgresql(pw)
    say('RabbitMQ (in the background)')
    start_rabbitmq()
    say('Open vSwitch (userspace datapath) and OVN')
    start_ovs_ovn()
    # The outside world on the external network's bridge, as the public subnet's gateway.
    guests_module().plug_outside('br-ex', OUTSIDE_ADDRESS)
    guests_module().ensure_inventory()
    migrate(pw, created)
    sqlite_wal()


def migrate(pw, created):
    """Every schema on the first start; Placement's alone when its database was just made."""
    if not os.path.exists(os.path.join(STATE, 'db-synced')):
        say('database migrations: Keystone, Glance, Placement, Neutron, Nova (parallel)')
        db_sync_all(pw)
        open(os.path.join(STATE, 'db-synced'), 'w').close()
    elif 'placement' in created:
        # a cloud made before Placement moved from SQLite to PostgreSQL: its schema, now
        # (nova-compute registers its resource provider again when it starts)
        say('database migrations: Placement, moved to PostgreSQL')
        run([vbin('placement-manage')] + config_file('placement', 'placement.conf') + ['db', 'sync'],
            'placement', env=service_env())


def start_keystone(pw, apis, first):
    """Keystone, and (first use) the identity bootstrap."""
    say('Keystone')
    argv, env, url = apis['keystone']
    spawn('keystone', argv, env=env)
    wait_for('keystone', lambda: http_ok(url), 120, url)
    if first or not os.path.exists(os.path.join(STATE, 'identity-ready')):
        say('identity: service users, catalog, projects portsec-owner/portsec-other')
        bootstrap(pw, 'identity')
        open(os.path.join(STATE, 'identity-ready'), 'w').close()


def start_openstack(apis):
    """Once RabbitMQ answers: the other APIs and the workers; nova-compute once Placement
    answers (it registers its resource provider there)."""
    wait_for('rabbitmq', lambda: port_open(PORTS['rabbitmq']), 120,
             'RabbitMQ on port %d' % PORTS['rabbitmq'])
    say('Glance, Placement, Neutron (API, periodic and OVN maintenance workers), '
        'Nova (API, conductor, scheduler, compute)')
    for name in ('glance', 'placement', 'neutron-api', 'nova-api'):
        argv, env = apis[name][:2]
        spawn(name, argv, env=env)
    for name, (argv, env) in worker_specs().items():
        if name == 'nova-compute':
            continue
        spawn(name, argv, env=env)
    for name in ('placement', 'glance', 'nova-api', 'neutron-api'):
        url = apis[name][2]
        wait_for(name, lambda u=url: http_ok(u), 180, url)
        say('  %s answers at %s' % (name, url))
        if name == 'placement':
            argv, env = worker_specs()['nova-compute']
            spawn('nova-compute', argv, env=env)


def wait_compute_and_ovn(pw, since):
    """nova-compute's fresh heartbeat and its mapping to cell1; OVN's agent alive in Neutron."""
    say('waiting for nova-compute to report a fresh heartbeat')
    wait_for('nova-compute', lambda: compute_up(pw, since), 180, 'nova-compute up',
             watch=API_AND_WORKERS)
    if not hypervisor_mapped(pw):
        run([vbin('nova-manage')] + config_file('nova', 'nova.conf') + ['cell_v2', 'discover_hosts', '--verbose'],
            'nova-compute', env=service_env())
        wait_for('nova-compute', lambda: hypervisor_mapped(pw), 60, 'hypervisor mapped')
    say('  nova-compute is up and mapped to cell1')
    wait_for('ovn-controller', lambda: ovn_agent_alive(pw), 120,
             'OVN controller agent alive in Neutron', watch=('neutron-api',))
    say('  OVN controller agent %s is alive' % HOST)


def print_where():
    print('clouds.yaml:        %s  (clouds: %s)' % (CLOUDS_YAML,
                                                    ', '.join(c[0] for c in CLOUDS)))
    print('integration config: %s' % INTEGRATION_CONFIG)
    print('logs:               %s' % LOG)
    print('OVN northbound:     ovn-nbctl --db=%s show' % NB_DB)


def stop(quiet=False):
    need_root()
    if not os.path.isdir(RUN):
        say('nothing to stop')
        return
    stop_openstack()
    remove_namespaces()
    for name in reversed(MANAGED):
        if name in API_AND_WORKERS:
            continue
        if name == 'ovs-vswitchd':
            remove_bridges()
        if name == 'postgresql' and alive(name):
            # smart shutdown by SIGINT = fast shutdown
            pid = read_pid(name)
            kill_group(pid, signal.SIGINT)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and ours(pid):
                time.sleep(0.2)
        if kill(name):
            say('stopped %s' % name)
    say('stopped')


def stop_openstack():
    """The OpenStack services: all at once, 5 s grace (a test cloud needs no graceful drain)."""
    openstack = [n for n in MANAGED if n in API_AND_WORKERS]
    for name in openstack:
        pid = read_pid(name)
        if ours(pid, name):
            kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(n) for n in openstack):
        time.sleep(0.2)
    for name in openstack:
        if kill(name, timeout=1):
            say('stopped %s' % name)


def remove_namespaces():
    """The servers' namespace guests, the dataplane check's leftovers, the outside namespace."""
    remove_guests()
    try:
        remove_dataplane_check()
    except Exception as exc:     # stop must go on
        say('removing the dataplane check failed: %s' % exc)
    try:
        guests_module().remove_outside()
    except Exception as exc:     # stop must go on
        say('removing the outside namespace failed: %s' % exc)


def reset():
    need_root()
    stop()
    for p in (DATA, ETC, RUN, os.path.join(STATE, 'ovs'), os.path.join(STATE, 'ovn')):
        shutil.rmtree(p, ignore_errors=True)
    for f in (INITIALISED, SECRETS, CLOUDS_YAML, INTEGRATION_CONFIG,
              os.path.join(STATE, 'identity-ready'), os.path.join(STATE, 'bootstrap.json'),
              os.path.join(STATE, 'db-synced')):
        unlink(f)
    say('data wiped (venv and logs kept); the next start builds a clean cloud')


def status(as_json=False):
    """What runs; exits 3 when any process is stopped. --json: one object for programs."""
    procs = {}
    for name in MANAGED:
        count, line = restarts(name)
        procs[name] = {'running': alive(name), 'pid': read_pid(name),
                       'daemon_pid': daemon_pid(name) if name in MONITORED else None,
                       'restarts': count, 'last_restart': line.strip()}
    apis = {name: http_ok(spec[2]) for name, spec in api_specs().items()}
    up = sum(p['running'] for p in procs.values())
    code = 0 if up == len(MANAGED) else 3
    if as_json:
        print(json.dumps({'processes': procs, 'apis': apis, 'running': up,
                          'total': len(MANAGED), 'log': LOG}, indent=1))
        return code
    for name, p in procs.items():
        print('%-32s %s' % (name, process_state(p)))
    for name, ok in apis.items():
        print('%-32s %s' % (name + ' API', 'answers' if ok else 'no answer'))
    print('%d/%d processes running' % (up, len(MANAGED)))
    if os.path.exists(CLOUDS_YAML):
        print_where()
    return code


def process_state(p):
    """One process's line in `cloud status`."""
    if not p['running']:
        state = 'stopped'
    elif p['daemon_pid']:
        state = 'running pid %d (monitor %d)' % (p['daemon_pid'], p['pid'])
    else:
        state = 'running pid %d' % p['pid']
    if p['restarts']:
        state += '; restarted %d time(s) by its monitor, last: %s' % (p['restarts'], p['last_restart'])
    return state


def restart(name):
    """Restarts one OpenStack service of a running cloud (nova-compute: with the driver
    copied again). Running servers keep their namespace guests: nova-compute re-plugs them."""
    need_root()
    pw = load_secrets()
    if not alive('postgresql') or not alive('ovs-vswitchd'):
        raise CloudError(name, 'the cloud is not running (cloud start)')
    since = heartbeat_since()
    if name == 'nova-compute':
        install_driver()
    kill(name, timeout=10)
    apis, workers = api_specs(), worker_specs()
    if name in apis:
        argv, env, url = apis[name]
        spawn(name, argv, env=env)
        wait_for(name, lambda: http_ok(url), 180, url)
    else:
        argv, env = workers[name]
        spawn(name, argv, env=env)
    if name == 'nova-compute':
        wait_for(name, lambda: compute_up(pw, since), 180, 'nova-compute up')
    say('%s restarted' % name)
