# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local cloud's places, names and small helpers, shared by every other cloud_* module:
where each file lives under tests/cloud/.state/, the ports, the processes `cloud` manages (in
start order), CloudError, progress lines (say), setup commands (run) and the services'
environment (service_env). Standard library only."""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))     # tests/cloud
LIB = os.path.join(HERE, 'lib')
REPO = os.path.dirname(os.path.dirname(HERE))
STATE = os.path.join(HERE, '.state')
VENV = os.path.join(STATE, 'venv')
ETC = os.path.join(STATE, 'etc')
LOG = os.path.join(STATE, 'log')
RUN = os.path.join(STATE, 'run')
DATA = os.path.join(STATE, 'data')
SECRETS = os.path.join(STATE, 'secrets.json')
INITIALISED = os.path.join(STATE, 'initialised')
CLOUDS_YAML = os.path.join(STATE, 'clouds.yaml')
INTEGRATION_CONFIG = os.path.join(REPO, 'tests', 'integration', 'integration_config.yml')

# The last five for ML2/OVS: the L3 agent's NAT, conntrack flushes, gratuitous ARPs and the
# offload setting of its veths; the iptables_hybrid firewall's rules and ipsets.
APT_PACKAGES = ['openvswitch-switch', 'ovn-central', 'ovn-host', 'rabbitmq-server',
                'postgresql', 'iproute2', 'procps', 'iputils-ping',
                'iptables', 'ipset', 'conntrack', 'iputils-arping', 'ethtool']

HOST = 'portsec-local'          # Nova's [DEFAULT] host == OVN chassis hostname
REGION = 'RegionOne'
IP = '127.0.0.1'
PORTS = {'keystone': 5000, 'glance': 9292, 'placement': 8778, 'nova-api': 8774,
         'neutron-api': 9696, 'postgresql': 15432, 'rabbitmq': 15672,
         'rabbitmq-dist': 25679, 'epmd': 14369}
KEYSTONE_URL = 'http://%s:%d/v3' % (IP, PORTS['keystone'])
PHYSNET = 'public'
# The outside namespace's address: the public subnet's gateway (see cloud_services.settings()).
OUTSIDE_ADDRESS = '192.0.2.1/24'
BRIDGES = ['br-int', 'br-ex']
# ML2/OVS: the bridge of the tenant VLAN networks' physical network (physnet tenant)
TENANT_BRIDGE = 'br-tenant'
TENANT_PHYSNET = 'tenant'
DB_USER = 'portsec'
# Placement too: its allocation claims read then write in one transaction, and two at once in
# SQLite fail at once with "database is locked" (no busy timeout helps): a server boot failed
# so when a test booted three servers while another target booted its own.
PG_DBS = ['neutron', 'nova_api', 'nova', 'nova_cell0', 'placement']
GUNICORN_WORKERS = 1

OVS_DB = 'unix:' + os.path.join(STATE, 'ovs', 'db.sock')
NB_DB = 'unix:' + os.path.join(STATE, 'ovn', 'nb.sock')
SB_DB = 'unix:' + os.path.join(STATE, 'ovn', 'sb.sock')

WSGI_APPS = {'keystone': 'keystone.wsgi.api:application',
             'glance': 'glance.wsgi.api:application',
             'placement': 'placement.wsgi.api:application',
             'neutron-api': 'neutron.wsgi.api:application',
             'nova-api': 'nova.wsgi.osapi_compute:application'}

# The Neutron backends the cloud runs (`cloud start --backend NAME`, or PORTSEC_CLOUD_BACKEND):
# ML2/OVN, ML2/OVS with the openvswitch firewall driver, ML2/OVS with the iptables_hybrid driver.
# Each one's column in the dataplane matrix is the reachability backend named here.
BACKENDS = {'ovn': 'ovn', 'ovs': 'ovs', 'ovs-hybrid': 'iptables_hybrid'}
DEFAULT_BACKEND = 'ovn'
BACKEND_FILE = os.path.join(STATE, 'backend')
BACKEND_NAMES = {'ovn': 'ML2/OVN', 'ovs': 'ML2/OVS, openvswitch firewall',
                 'ovs-hybrid': 'ML2/OVS, iptables_hybrid firewall'}


def running_backend():
    """The backend the cloud's state was built for (.state/backend; OVN for a cloud made before
    there was a choice)."""
    try:
        with open(BACKEND_FILE) as f:
            name = f.read().strip()
    except OSError:
        return DEFAULT_BACKEND
    return name if name in BACKENDS else DEFAULT_BACKEND


def managed(backend):
    """The processes `cloud` manages for a backend, in start order; stop runs it backwards."""
    ovn = backend == 'ovn'
    return (['postgresql', 'epmd', 'rabbitmq', 'ovsdb-server', 'ovs-vswitchd']
            + (['ovn-nb', 'ovn-sb', 'ovn-northd', 'ovn-controller'] if ovn else [])
            + ['keystone', 'glance', 'placement', 'neutron-api', 'neutron-periodic-workers']
            + (['neutron-ovn-maintenance-worker'] if ovn else
               ['neutron-rpc-server', 'neutron-openvswitch-agent', 'neutron-l3-agent'])
            + ['nova-api', 'nova-conductor', 'nova-scheduler', 'nova-compute'])


# The running backend's processes. A switch of backend (cloud_commands.switch_backend) changes
# both lists in place, so every module that imported them sees the change.
MANAGED = managed(running_backend())
API_AND_WORKERS = MANAGED[MANAGED.index('keystone'):]


def use_backend(backend):
    MANAGED[:] = managed(backend)
    API_AND_WORKERS[:] = MANAGED[MANAGED.index('keystone'):]


# The OVS and OVN daemons run under their own `--monitor`, as ovn-ctl and ovs-ctl run them: the
# monitor (the PID we record) restarts its daemon after a crash signal (SEGV, ABRT, BUS, ...),
# not after SIGKILL or a normal exit, and logs each restart. Each daemon writes its own pidfile.
MONITORED = {
    'ovsdb-server': os.path.join(STATE, 'ovs', 'ovsdb-server.pid'),
    'ovs-vswitchd': os.path.join(STATE, 'ovs', 'ovs-vswitchd.pid'),
    'ovn-nb': os.path.join(STATE, 'ovn', 'nb.pid'),
    'ovn-sb': os.path.join(STATE, 'ovn', 'sb.pid'),
    'ovn-northd': os.path.join(STATE, 'ovn', 'ovn-northd.pid'),
    'ovn-controller': os.path.join(STATE, 'ovn', 'ovn-controller.pid'),
}

T0 = time.monotonic()


class CloudError(Exception):
    def __init__(self, service, message, log=None):
        super().__init__(message)
        self.service = service
        self.log = log


def say(msg):
    print('[%5.1fs] %s' % (time.monotonic() - T0, msg), flush=True)


def vbin(name):
    return os.path.join(VENV, 'bin', name)


def logfile(name):
    return os.path.join(LOG, name + '.log')


def pidfile(name):
    return os.path.join(RUN, name + '.pid')


def config_file(*path):
    """['--config-file', <.state/etc/...>], as the OpenStack commands take it."""
    return ['--config-file', os.path.join(ETC, *path)]


def tail(path, lines=30):
    try:
        with open(path, 'rb') as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return '(no log at %s)' % path
    return '\n'.join(text.splitlines()[-lines:])


def run(cmd, service, env=None, log=None, timeout=600, user=None, input_text=None):
    """Runs a setup command; on failure raises CloudError naming `service`."""
    log = log or logfile(service)
    if user:
        cmd = ['runuser', '-u', user, '--'] + cmd
    with open(log, 'ab') as out:
        out.write(('\n$ %s\n' % ' '.join(cmd)).encode())
        out.flush()
        try:
            proc = subprocess.run(cmd, env=env, stdout=out, stderr=out, timeout=timeout,
                                  input=input_text.encode() if input_text else None,
                                  stdin=None if input_text else subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise CloudError(service, '%s timed out' % ' '.join(cmd))
    if proc.returncode != 0:
        raise CloudError(service, '%s exited %d' % (' '.join(cmd), proc.returncode))


def need_root():
    if os.geteuid() != 0:
        sys.stderr.write(
            'tests/cloud/cloud needs root: it installs Debian packages, runs Open vSwitch '
            '(creates bridges and tap devices), runs PostgreSQL as the postgres user and '
            'manages its daemons.\nRun it as root, e.g. `sudo tests/cloud/cloud start`.\n')
        sys.exit(2)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def heartbeat_since():
    """'YYYY-MM-DD HH:MM:SS' in UTC, a second ago: a heartbeat newer than this is fresh."""
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(time.time() - 1))


def service_env(extra=None):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(('OS_', 'GUNICORN_')):
            env.pop(k)
    env.update({'PATH': os.path.join(VENV, 'bin') + ':' + env.get('PATH', '/usr/bin:/bin'),
                'OVS_RUNDIR': os.path.join(STATE, 'ovs'),
                'OVS_DBDIR': os.path.join(STATE, 'ovs'),
                'OVS_LOGDIR': LOG,
                'OVN_RUNDIR': os.path.join(STATE, 'ovn'),
                'OVN_DBDIR': os.path.join(STATE, 'ovn'),
                'OVN_LOGDIR': LOG,
                'PORTSEC_OVS_DB': OVS_DB,
                'PYTHONUNBUFFERED': '1',
                'PYTHONDONTWRITEBYTECODE': '1'})
    env.update(extra or {})
    return env
