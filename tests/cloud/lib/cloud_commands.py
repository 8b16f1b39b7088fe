# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sub-commands of tests/cloud/cloud: start (install, initialise, start every process in
order, wait until the cloud is ready and whole), stop, reset, status and restart. Standard
library only."""

import glob
import json
import os
import shutil
import signal
import subprocess
import time

from cloud_common import (API_AND_WORKERS, BACKEND_FILE, BACKEND_NAMES, BACKENDS, CLOUDS_YAML, DATA, DB_USER, DEFAULT_BACKEND, ETC,
                          HOST, INITIALISED, INTEGRATION_CONFIG, LOG, MANAGED, MONITORED, NB_DB, OUTSIDE_ADDRESS, OVS_DB, PORTS, RUN, SECRETS,
                          STATE, CloudError, config_file, heartbeat_since, logfile, need_root, run, running_backend, say,
                          service_env, tail, unlink, use_backend, vbin, write)
from cloud_config import CLOUDS, load_secrets, write_client_configs, write_configs
import cloud_ml2ovs
import cloud_ovn
from cloud_guests import dataplane_check, guests_module, remove_dataplane_check, remove_guests
from cloud_install import install_debian, install_driver, install_venv
from cloud_ovn import remove_bridges, start_ovs_ovn
from cloud_procs import alive, daemon_pid, http_ok, kill, kill_group, ours, port_open, read_pid, restart_counts, restarts, spawn, wait_for
from cloud_services import (admin_call, api_specs, bootstrap, compute_up, db_sync_all, hypervisor_mapped, init_postgresql,
                            ml2ovs_agents_alive, neutron_migrations, ovn_agent_alive, psql, rabbit_consumed, sqlite_wal, start_postgresql,
                            start_rabbitmq, worker_specs)


def everything_up(pw):
    if not all(alive(n) for n in MANAGED):
        return False
    return all(http_ok(spec[2]) for spec in api_specs().values())


def requested_backend(backend):
    """The backend `start` runs: --backend, else $PORTSEC_CLOUD_BACKEND, else OVN (so `make demo`
    is on OVN unless asked otherwise)."""
    backend = backend or os.environ.get('PORTSEC_CLOUD_BACKEND') or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise CloudError('backend', 'backend %r is not one of %s: cloud start --backend %s'
                         % (backend, ', '.join(BACKENDS), '|'.join(BACKENDS)))
    if backend == 'ovs-hybrid':
        bridge_nf_needed()
    return backend


BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-%stables'


def bridge_nf_needed():
    """iptables_hybrid filters on the per-port Linux bridges: without bridge-nf-call-iptables
    (and -ip6tables, -arptables, which the driver checks too) the agent only warns, and nothing
    of that family is filtered."""
    off = []
    for proto in ('ip', 'ip6', 'arp'):
        try:
            with open(BRIDGE_NF % proto) as f:
                value = f.read().strip()
        except OSError:
            value = 'absent (module br_netfilter not loaded)'
        if value != '1':
            off.append('net.bridge.bridge-nf-call-%stables is %s' % (proto, value))
    if off:
        raise CloudError('backend', 'the iptables_hybrid firewall needs net.bridge.bridge-nf-call-iptables, -ip6tables '
                         'and -arptables = 1, and here %s: `modprobe br_netfilter && sysctl -w '
                         'net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 '
                         'net.bridge.bridge-nf-call-arptables=1`, then start again; nothing was changed' % '; '.join(off))


def start(backend=None):
    need_root()
    for p in (STATE, LOG, RUN, ETC, DATA):
        os.makedirs(p, exist_ok=True)
    backend = requested_backend(backend)
    if os.path.exists(REBUILD) or (backend != running_backend() and os.path.exists(os.path.join(STATE, 'db-synced'))):
        switch_backend(backend)
    elif not os.path.exists(BACKEND_FILE) or backend != running_backend():
        write(BACKEND_FILE, backend + '\n')
        use_backend(backend)
    first = not os.path.exists(INITIALISED)
    up = not first and os.path.exists(SECRETS) and everything_up(load_secrets())
    if up:
        say('the cloud is already running; checking that it is whole')
    ensure_whole(bring_up=not up)
    write_client_configs(load_secrets())
    say('the local cloud is up: Neutron %s' % BACKEND_NAMES[running_backend()])
    print_where()


STALE_SERVERS = os.path.join(STATE, 'servers-stale')
# A rebuild of Neutron's state for another backend begun and not finished: the next start does it
# again (for the backend it is asked for), whatever .state/backend says.
REBUILD = os.path.join(STATE, 'neutron-rebuild')


def switch_backend(new):
    """Neutron's state belongs to one backend: stop the cloud, make Neutron's database anew
    (and OVN's, which mirror it), and let the start that follows bootstrap the shared networks
    again. Servers outlive it in Nova with ports that no longer exist: deleted once the cloud
    answers (delete_stale_servers). The markers come first and REBUILD goes last, so an
    interrupted switch is done again by the next start."""
    old = running_backend()
    open(STALE_SERVERS, 'w').close()
    if old != 'ovn' and new != 'ovn' and not os.path.exists(REBUILD):
        # one ML2/OVS firewall for the other: the same Neutron state; the agent starts with the
        # other driver on a new br-int (stop removes it), the servers go (plugged the other way)
        say('switching Neutron from %s to %s: servers are deleted' % (BACKEND_NAMES[old], BACKEND_NAMES[new]))
        stop()
        write(BACKEND_FILE, new + '\n')
        use_backend(new)
        return
    write(REBUILD, new + '\n')
    unlink(INITIALISED)
    say('switching Neutron from %s to %s: its networks, ports, routers and groups are made anew, '
        'servers are deleted' % (BACKEND_NAMES[old], BACKEND_NAMES[new]))
    stop()
    pw = load_secrets()
    start_postgresql(pw, first=False)
    for sql in ('DROP DATABASE IF EXISTS neutron WITH (FORCE)', 'CREATE DATABASE neutron OWNER %s' % DB_USER):
        proc = psql(sql)
        if proc.returncode:
            raise CloudError('postgresql', '%s: %s' % (sql, proc.stderr.strip()))
    for path in glob.glob(os.path.join(STATE, 'ovn', '*.db')):
        unlink(path)
    write(BACKEND_FILE, new + '\n')
    use_backend(new)
    write_configs(pw)
    say('database migrations: Neutron')
    for cmd in neutron_migrations(config_file('neutron', 'neutron.conf')):
        run(cmd, 'neutron-api', log=logfile('neutron-api-db-sync'), env=service_env())
    unlink(REBUILD)


def nova_servers(pw):
    """Every server of every project; CloudError when Nova does not answer."""
    answer = admin_call(pw, 'nova-api', 'GET', '/v2.1/servers?all_tenants=1')
    if answer is None:
        raise CloudError('nova-api', 'the server list of every project could not be read')
    return answer.get('servers', [])


def delete_stale_servers(pw, timeout=120):
    """After a switch of backend: every server (of every project) deleted, and gone; the marker
    stays until then."""
    if not os.path.exists(STALE_SERVERS):
        return
    servers = nova_servers(pw)
    if servers:
        say('deleting %d server(s) of the former backend' % len(servers))
    for server in servers:
        admin_call(pw, 'nova-api', 'DELETE', '/v2.1/servers/%s' % server['id'])
    deadline = time.monotonic() + timeout
    while servers and time.monotonic() < deadline:
        time.sleep(1)
        servers = nova_servers(pw)
    if servers:
        raise CloudError('nova-compute', '%d server(s) of the former backend not deleted after %ds'
                         % (len(servers), timeout))
    unlink(STALE_SERVERS)


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
            say('  every process is alive (%d), none restarted during the start; %s forwards'
                % (len(MANAGED), 'OVN' if running_backend() == 'ovn' else 'ML2/OVS'))
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
    say('starting the local cloud (%s)' % (
        'data kept from the last run' if not first else
        'Neutron made anew' if os.path.exists(os.path.join(STATE, 'identity-ready')) else 'first use: install + initialise'))
    install_debian()
    install_venv()
    install_driver()
    pw = load_secrets()
    write_configs(pw)
    since = heartbeat_since()
    start_backends(pw, first)
    apis = api_specs()
    start_keystone(pw, apis)
    start_openstack(apis)
    wait_compute_and_ovn(pw, since)
    # before the dataplane check: nova-compute re-plugged them, on ports Neutron no longer has
    delete_stale_servers(pw)
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
    ovn = running_backend() == 'ovn'
    say('Open vSwitch (userspace datapath)%s' % (' and OVN' if ovn else ''))
    start_ovs_ovn(ovn)
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


def start_keystone(pw, apis):
    """Keystone, and (first use) the identity bootstrap."""
    say('Keystone')
    argv, env, url = apis['keystone']
    spawn('keystone', argv, env=env)
    wait_for('keystone', lambda: http_ok(url), 120, url)
    if not os.path.exists(os.path.join(STATE, 'identity-ready')):
        say('identity: service users, catalog, projects portsec-owner/portsec-other')
        bootstrap(pw, 'identity')
        open(os.path.join(STATE, 'identity-ready'), 'w').close()


def start_openstack(apis):
    """Once RabbitMQ answers: the other APIs and the workers; nova-compute once Placement
    answers (it registers its resource provider there)."""
    wait_for('rabbitmq', lambda: port_open(PORTS['rabbitmq']), 120,
             'RabbitMQ on port %d' % PORTS['rabbitmq'])
    say('Glance, Placement, Neutron (API, %s), Nova (API, conductor, scheduler, compute)' % (
        'periodic and OVN maintenance workers' if running_backend() == 'ovn' else
        'RPC server, periodic workers, Open vSwitch and L3 agents'))
    for name in ('glance', 'placement', 'neutron-api', 'nova-api'):
        argv, env = apis[name][:2]
        spawn(name, argv, env=env)
    workers = worker_specs()
    for name, (argv, env) in workers.items():
        if name == 'nova-compute' or name in cloud_ml2ovs.AGENTS:
            continue
        spawn(name, argv, env=env)
    for name in ('placement', 'glance', 'nova-api', 'neutron-api'):
        url = apis[name][2]
        wait_for(name, lambda u=url: http_ok(u), 180, url)
        say('  %s answers at %s' % (name, url))
        if name == 'placement':
            argv, env = workers['nova-compute']
            spawn('nova-compute', argv, env=env)
    agents = [name for name in cloud_ml2ovs.AGENTS if name in workers]
    if agents:
        # the agents' first calls (state report, the L3 agent's router count) are lost if
        # they come before the RPC server consumes: the L3 agent then waited 60 s + a back-off
        wait_for('neutron-rpc-server', lambda: rabbit_consumed(cloud_ml2ovs.RPC_QUEUES), 120,
                 'neutron-rpc-server consuming %s' % ', '.join(cloud_ml2ovs.RPC_QUEUES))
        for name in agents:
            spawn(name, *workers[name])


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
    if running_backend() != 'ovn':
        wait_for('neutron-openvswitch-agent', lambda: ml2ovs_agents_alive(pw, since), 120,
                 'the Open vSwitch and L3 agents alive in Neutron',
                 watch=('neutron-rpc-server', 'neutron-openvswitch-agent', 'neutron-l3-agent'))
        say('  the Open vSwitch and L3 agents of %s are alive' % HOST)
        return
    wait_for('ovn-controller', lambda: ovn_agent_alive(pw), 120,
             'OVN controller agent alive in Neutron', watch=('neutron-api',))
    say('  OVN controller agent %s is alive' % HOST)


def print_where():
    print('clouds.yaml:        %s  (clouds: %s)' % (CLOUDS_YAML,
                                                    ', '.join(c[0] for c in CLOUDS)))
    print('integration config: %s' % INTEGRATION_CONFIG)
    print('logs:               %s' % LOG)
    if running_backend() == 'ovn':
        print('OVN northbound:     ovn-nbctl --db=%s show' % NB_DB)
    else:
        print('Open vSwitch:       ovs-vsctl --db=%s show' % OVS_DB)


def stop(quiet=False):
    need_root()
    if not os.path.isdir(RUN):
        say('nothing to stop')
        return
    stop_openstack()
    remove_namespaces()
    cloud_ml2ovs.remove_firewall_rules()
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
    """The servers' namespace guests, the dataplane check's leftovers, the L3 agent's router
    namespaces, the outside namespace."""
    remove_guests()
    for ns in sorted(os.listdir('/run/netns')) if os.path.isdir('/run/netns') else ():
        if ns.startswith(('qrouter-', 'snat-', 'fip-', 'qdhcp-')):
            subprocess.run(['ip', 'netns', 'del', ns], check=False)
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
    backend = running_backend()
    if as_json:
        print(json.dumps({'backend': backend, 'processes': procs, 'apis': apis, 'running': up,
                          'total': len(MANAGED), 'log': LOG}, indent=1))
        return code
    print('%-32s %s (--backend %s)' % ('Neutron backend', BACKEND_NAMES[backend], backend))
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


def settle(timeout):
    """The dataplane barrier of the running backend: (ok, seconds, message)."""
    if running_backend() == 'ovn':
        return cloud_ovn.settle(timeout)
    return cloud_ml2ovs.settle(timeout)


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
