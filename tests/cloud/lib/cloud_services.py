# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local cloud's services: how each OpenStack API (gunicorn) and worker is started,
PostgreSQL and RabbitMQ as private instances, the schema migrations of every service (db sync),
the identity and resource bootstrap (lib/bootstrap.py in the venv), and the readiness checks
that ask the APIs (nova-compute's heartbeat, the hypervisor mapping, OVN's agent in Neutron).
Standard library only."""

import json
import os
import shlex
import shutil
import subprocess
import urllib.request

import cloud_ml2ovs
from cloud_common import (DATA, DB_USER, ETC, GUNICORN_WORKERS, HOST, IP, KEYSTONE_URL, LIB, LOG, MANAGED, PG_DBS, PHYSNET, PORTS,
                          REGION, STATE, CloudError, config_file, logfile, run, service_env, vbin)
from cloud_config import pg_url
from cloud_install import pg_bindir
from cloud_procs import alive, port_open, spawn, wait_for


def gunicorn_env(name, extra_env):
    return service_env(dict(extra_env, GUNICORN_CMD_ARGS='--config %s' % os.path.join(
        ETC, 'gunicorn', name + '.conf.py')))


def api_specs():
    """name -> (argv, env, health url)."""
    e = ETC
    extra_envs = {
        'keystone': {'OS_KEYSTONE_CONFIG_DIR': os.path.join(e, 'keystone')},
        'glance': {'OS_GLANCE_CONFIG_DIR': os.path.join(e, 'glance')},
        'placement': {'OS_PLACEMENT_CONFIG_DIR': os.path.join(e, 'placement')},
        'neutron-api': {'OS_NEUTRON_CONFIG_DIR': os.path.join(e, 'neutron'),
                        'OS_NEUTRON_CONFIG_FILES': 'neutron.conf',
                        'ASGI_WORKERS': str(GUNICORN_WORKERS)},
        'nova-api': {'OS_NOVA_CONFIG_FILES': '%s;%s' % (
            os.path.join(e, 'nova', 'api-paste.ini'),
            os.path.join(e, 'nova', 'nova.conf'))},
    }
    specs = {}
    for name, extra_env in extra_envs.items():
        url = KEYSTONE_URL if name == 'keystone' else 'http://%s:%d/' % (IP, PORTS[name])
        specs[name] = ([vbin('gunicorn')], gunicorn_env(name, extra_env), url)
    return specs


def worker_specs():
    """name -> (argv, env) of each worker of the running backend (MANAGED)."""
    nconf = config_file('neutron', 'neutron.conf')
    vconf = config_file('nova', 'nova.conf')
    env = service_env()
    specs = {
        'neutron-periodic-workers': ([vbin('neutron-periodic-workers')] + nconf, env),
        'neutron-ovn-maintenance-worker': ([vbin('neutron-ovn-maintenance-worker')] + nconf,
                                           env),
        'nova-conductor': ([vbin('nova-conductor')] + vconf, env),
        'nova-scheduler': ([vbin('nova-scheduler')] + vconf, env),
        'nova-compute': ([vbin('nova-compute')] + vconf, env),
    }
    specs.update(cloud_ml2ovs.worker_specs())
    return {name: spec for name, spec in specs.items() if name in MANAGED}


# --------------------------------------------------------------------------- PostgreSQL

def pg_env():
    return dict(os.environ, PGHOST=os.path.join(DATA, 'postgresql-run'),
                PGPORT=str(PORTS['postgresql']), PGUSER='postgres')


def start_postgresql(pw, first):
    pgdata = os.path.join(DATA, 'postgresql')
    sock = os.path.join(DATA, 'postgresql-run')
    bindir = pg_bindir()
    os.makedirs(sock, exist_ok=True)
    shutil.chown(sock, 'postgres', 'postgres')
    # the postgres user must be able to traverse to its data
    for p in (STATE, DATA):
        os.chmod(p, os.stat(p).st_mode | 0o011)
    if not os.path.exists(os.path.join(pgdata, 'PG_VERSION')):
        os.makedirs(pgdata, exist_ok=True)
        shutil.chown(pgdata, 'postgres', 'postgres')
        os.chmod(pgdata, 0o700)
        run([os.path.join(bindir, 'initdb'), '-D', pgdata, '-U', 'postgres',
             '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8',
             '--locale=C.UTF-8'], 'postgresql', user='postgres')
    if alive('postgresql'):
        return
    opts = ('-c listen_addresses=%s -p %d -k %s -c fsync=off -c synchronous_commit=off '
            '-c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB '
            '-c logging_collector=off' % (IP, PORTS['postgresql'], sock))
    spawn('postgresql', ['runuser', '-u', 'postgres', '--',
                         os.path.join(bindir, 'postgres'), '-D', pgdata] + opts.split())
    wait_for('postgresql', lambda: os.path.exists(
        os.path.join(sock, '.s.PGSQL.%d' % PORTS['postgresql'])) and port_open(
            PORTS['postgresql']), 60, 'PostgreSQL socket')
    # pg_isready
    wait_for('postgresql', lambda: subprocess.run(
        [os.path.join(bindir, 'pg_isready'), '-q'], env=pg_env(), check=False).returncode == 0,
        60, 'PostgreSQL accepting connections')


def psql(sql, db='postgres'):
    bindir = pg_bindir()
    return subprocess.run([os.path.join(bindir, 'psql'), '-v', 'ON_ERROR_STOP=1', '-qAt',
                           '-d', db, '-c', sql], env=pg_env(), capture_output=True, text=True, check=False)


def init_postgresql(pw):
    """The role and the databases; returns the databases it created."""
    created = []
    r = psql("SELECT 1 FROM pg_roles WHERE rolname='%s'" % DB_USER)
    if r.stdout.strip() != '1':
        r = psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (DB_USER, pw['db']))
        if r.returncode:
            raise CloudError('postgresql', r.stderr)
    for db in PG_DBS:
        r = psql("SELECT 1 FROM pg_database WHERE datname='%s'" % db)
        if r.stdout.strip() != '1':
            r = psql('CREATE DATABASE %s OWNER %s' % (db, DB_USER))
            if r.returncode:
                raise CloudError('postgresql', r.stderr)
            created.append(db)
    return created


# --------------------------------------------------------------------------- RabbitMQ

def rabbit_env():
    rdir = os.path.join(ETC, 'rabbitmq')
    data = os.path.join(DATA, 'rabbitmq')
    os.makedirs(data, exist_ok=True)
    return service_env({
        'HOME': data,
        'RABBITMQ_NODENAME': 'portsec@localhost',
        'RABBITMQ_NODE_IP_ADDRESS': IP,
        'RABBITMQ_NODE_PORT': str(PORTS['rabbitmq']),
        'RABBITMQ_DIST_PORT': str(PORTS['rabbitmq-dist']),
        'ERL_EPMD_PORT': str(PORTS['epmd']),
        'ERL_EPMD_ADDRESS': IP,
        'RABBITMQ_CONFIG_FILE': os.path.join(rdir, 'rabbitmq.conf'),
        'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(rdir, 'advanced.config'),
        'RABBITMQ_CONF_ENV_FILE': os.path.join(rdir, 'rabbitmq-env.conf'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(rdir, 'enabled_plugins'),
        'RABBITMQ_MNESIA_BASE': os.path.join(data, 'mnesia'),
        'RABBITMQ_LOG_BASE': LOG,
        'RABBITMQ_LOGS': os.path.join(LOG, 'rabbitmq-server.log'),
        'RABBITMQ_PID_FILE': os.path.join(data, 'rabbitmq.pid'),
        'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS': '+S 2:2 +sbwt none +sbwtdcpu none +sbwtdio none',
    })


def rabbit_consumed(queues):
    """Has each queue a consumer? (rabbitmqctl list_queues, 0.7 s.) A call cast to a queue that
    no one has declared yet is lost: an agent must not call before its server consumes."""
    proc = subprocess.run(['/usr/lib/rabbitmq/bin/rabbitmqctl', '-q', 'list_queues', 'name', 'consumers'],
                          env=rabbit_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    consumers = dict(line.split('\t', 1) for line in proc.stdout.splitlines() if '\t' in line)
    return all(consumers.get(q, '0').strip() not in ('0', '') for q in queues)


def start_rabbitmq():
    env = rabbit_env()
    if not alive('epmd'):
        spawn('epmd', ['epmd', '-port', str(PORTS['epmd']), '-address', IP], env=env)
    spawn('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'], env=env)


# --------------------------------------------------------------------------- schemas

def db_sync_chains(pw):
    """service -> the commands of its migrations, run one after the other."""
    kconf = config_file('keystone', 'keystone.conf')
    vconf = config_file('nova', 'nova.conf')
    keystone = [vbin('keystone-manage')] + kconf
    nova = [vbin('nova-manage')] + vconf
    return {
        'keystone': [
            keystone + ['db_sync'],
            keystone + ['fernet_setup', '--keystone-user', 'root', '--keystone-group', 'root'],
            keystone + ['credential_setup', '--keystone-user', 'root', '--keystone-group', 'root'],
            keystone + [
                'bootstrap', '--bootstrap-password', pw['admin'],
                '--bootstrap-admin-url', KEYSTONE_URL, '--bootstrap-internal-url', KEYSTONE_URL,
                '--bootstrap-public-url', KEYSTONE_URL, '--bootstrap-region-id', REGION]],
        'glance': [[vbin('glance-manage')] + config_file('glance', 'glance-api.conf') + ['db_sync']],
        'placement': [[vbin('placement-manage')] + config_file('placement', 'placement.conf') + ['db', 'sync']],
        'neutron-api': neutron_migrations(config_file('neutron', 'neutron.conf')),
        'nova-api': [
            nova + ['api_db', 'sync'],
            nova + ['cell_v2', 'map_cell0', '--database_connection', pg_url(pw, 'nova_cell0')],
            nova + ['cell_v2', 'list_cells', '|', 'grep', '-q', 'cell1', '||'] +
            nova + ['cell_v2', 'create_cell', '--name', 'cell1'],
            nova + ['db', 'sync']],
    }


def db_sync_all(pw):
    """All schema migrations, in parallel (they are independent)."""
    env = service_env()
    procs = {}
    for svc, cmds in db_sync_chains(pw).items():
        script = ' && '.join('{ %s; }' % ' '.join(
            a if a in ('|', '||') else shlex.quote(a) for a in c) for c in cmds)
        out = open(logfile(svc + '-db-sync'), 'ab')
        procs[svc] = (subprocess.Popen(['bash', '-c', script], env=env, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
                      out)
    failed = []
    for svc, (p, out) in procs.items():
        p.wait()
        out.close()
        if p.returncode != 0:
            failed.append(svc)
    if failed:
        raise CloudError(failed[0], 'database migration failed',
                         log=logfile(failed[0] + '-db-sync'))


# Neutron migrations that are MySQL-only and fail on PostgreSQL: (parent, revision).
# d553edeb540f makes `tags` case sensitive with a MySQL collation (ALTER TABLE ... CONVERT TO
# CHARACTER SET), guarded only against MySQL's "Unknown collation"; PostgreSQL text comparison
# is already case sensitive, so the revision is stamped instead of run.
NEUTRON_MYSQL_ONLY = [('ad80a9f07c5c', 'd553edeb540f')]


def neutron_migrations(nconf):
    manage = [vbin('neutron-db-manage')] + nconf
    cmds = []
    fresh = psql('SELECT 1 FROM alembic_version LIMIT 1', db='neutron').returncode != 0
    if fresh:
        for parent, rev in NEUTRON_MYSQL_ONLY:
            cmds.append(manage + ['upgrade', parent])
            cmds.append(manage + ['stamp', rev])
    cmds.append(manage + ['upgrade', 'heads'])
    return cmds


def sqlite_wal():
    """Write-ahead logging for the SQLite databases (Keystone, Glance): readers no
    longer wait for a writer. Kept in the file; setting it again is a no-op."""
    import sqlite3
    for name in ('keystone', 'glance'):
        path = os.path.join(DATA, name, name + '.db')
        if os.path.exists(path):
            with sqlite3.connect(path, timeout=30) as db:
                db.execute('PRAGMA journal_mode=WAL')


# --------------------------------------------------------------------------- bootstrap

def settings(pw):
    return {
        'auth_url': KEYSTONE_URL,
        'region': REGION, 'passwords': pw, 'physnet': PHYSNET,
        'shared_cidr': '10.77.0.0/24',
        'public_cidr': '192.0.2.0/24', 'public_gateway': '192.0.2.1',
        'public_pool': ['192.0.2.10', '192.0.2.250'],
        'catalog': [
            ['glance', 'image', 'http://%s:%d' % (IP, PORTS['glance'])],
            ['placement', 'placement', 'http://%s:%d' % (IP, PORTS['placement'])],
            ['nova', 'compute', 'http://%s:%d/v2.1' % (IP, PORTS['nova-api'])],
            ['neutron', 'network', 'http://%s:%d' % (IP, PORTS['neutron-api'])],
        ],
    }


def bootstrap(pw, phase):
    path = os.path.join(STATE, 'bootstrap.json')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(settings(pw), f)
    run([vbin('python'), os.path.join(LIB, 'bootstrap.py'), phase, path],
        'bootstrap', env=service_env(), timeout=300)


# --------------------------------------------------------------------------- readiness

def os_token(pw):
    body = json.dumps({'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': 'admin', 'domain': {'name': 'Default'}, 'password': pw['admin']}}},
        'scope': {'project': {'name': 'admin', 'domain': {'name': 'Default'}}}}}).encode()
    req = urllib.request.Request(KEYSTONE_URL + '/auth/tokens',
                                 data=body, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers['X-Subject-Token']


def api_call(token, url, method='GET', body=None):
    """The decoded answer ({} for one without a body)."""
    req = urllib.request.Request(url, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={'X-Auth-Token': token, 'Content-Type': 'application/json',
                                          'OpenStack-API-Version': 'compute 2.53'})
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
    return json.loads(data) if data else {}


def admin_call(pw, service, method, path, body=None, token=None):
    """`method` on `path` of `service`'s API as admin (a new token unless given); None on
    failure."""
    try:
        return api_call(token or os_token(pw), 'http://%s:%d%s' % (IP, PORTS[service], path),
                        method, body)
    except (OSError, ValueError):
        return None


def admin_get(pw, service, path):
    """GET of `path` on `service`'s API as admin (a new token each time); None on failure."""
    return admin_call(pw, service, 'GET', path)


def compute_up(pw, since):
    data = admin_get(pw, 'nova-api', '/v2.1/os-services?binary=nova-compute')
    if data is None:
        return False
    for s in data.get('services', []):
        if s['host'] == HOST and s['state'] == 'up' and s['status'] == 'enabled':
            upd = s.get('updated_at') or ''
            # fresh heartbeat: written after this start began (UTC ISO timestamps)
            if upd and upd.replace('T', ' ')[:19] >= since:
                return True
    return False


def ovn_agent_alive(pw):
    data = admin_get(pw, 'neutron-api', '/v2.0/agents?host=%s' % HOST)
    if data is None:
        return False
    return any('OVN Controller' in a['agent_type'] and a['alive']
               for a in data.get('agents', []))


def ml2ovs_agents_alive(pw, since):
    return cloud_ml2ovs.agents_alive(admin_get(pw, 'neutron-api', '/v2.0/agents?host=%s' % HOST), since)


def hypervisor_mapped(pw):
    data = admin_get(pw, 'nova-api', '/v2.1/os-hypervisors')
    if data is None:
        return False
    return bool(data.get('hypervisors'))
