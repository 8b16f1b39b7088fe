# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML2/OVS in the local cloud (`cloud start --backend ovs|ovs-hybrid`): Neutron's configuration for
the openvswitch mechanism driver, the processes OVN does not need (neutron-rpc-server, the Open
vSwitch agent, the L3 agent), their readiness check, the dataplane barrier `settle` and the
dataplane check of `cloud start` on this backend. Standard library only.

How the agents run here (tests/cloud/README.md, "ML2/OVS"):
- as root from the venv, with `[agent] root_helper = env`: the commands Neutron runs as root
  become `env CMD` (found on the venv-first PATH of service_env), and oslo.privsep's daemons start
  as `env privsep-helper ...` from the venv. No sudo, no rootwrap. (An empty root_helper does not
  work: oslo.privsep ignores an empty command and falls back to `sudo`.)
- the Open vSwitch agent on the userspace datapath (`[ovs] datapath_type = netdev`), on the
  cloud's private ovsdb socket, with no tunnels: tenant networks are VLANs on the physical
  network `tenant` (bridge br-tenant, no uplink: one host), the external network is flat on
  `public` (bridge br-ex, where the outside namespace sits).
- the L3 agent plugs its qr-/qg- devices as veth pairs (`ovs_use_veth = True`): an OVS internal
  port of a netdev bridge is a tap device that ovs-vswitchd serves itself, and moved into the
  router's namespace it carries nothing. For a veth on a netdev bridge the agent turns TX/RX
  offload off itself (`ethtool --offload`, Neutron commit 11838a2), hence Debian's ethtool.
"""

import json
import os
import re
import shutil
import subprocess
import time

from cloud_common import ETC, HOST, OVS_DB, PHYSNET, TENANT_BRIDGE, TENANT_PHYSNET, config_file, logfile, service_env, vbin, write
from cloud_config import ini
from cloud_ovn import vsctl

# The agents' loop period (s): how long a change waits at most before an agent applies it.
POLLING_INTERVAL = 1
FIREWALLS = {'ovs': 'openvswitch', 'ovs-hybrid': 'iptables_hybrid'}


def neutron_sections(backend):
    """The [DEFAULT]/[ml2]/... settings of neutron.conf that ML2/OVS replaces (cloud_config
    writes the rest)."""
    return {
        'DEFAULT': {'service_plugins': 'router',
                    # the RPC server's one worker: the agents' calls and reports
                    'rpc_workers': '1', 'rpc_state_report_workers': '0'},
        'ml2': {'mechanism_drivers': 'openvswitch', 'type_drivers': 'local,flat,vlan',
                'tenant_network_types': 'vlan', 'extension_drivers': 'port_security'},
        'ml2_type_flat': {'flat_networks': PHYSNET},
        'ml2_type_vlan': {'network_vlan_ranges': '%s:100:999' % TENANT_PHYSNET},
        'securitygroup': {'enable_security_group': 'true', 'firewall_driver': FIREWALLS[backend]},
        'agent': {'root_helper': 'env', 'polling_interval': str(POLLING_INTERVAL),
                  'report_interval': '10'},
    }


def write_agent_confs(backend):
    ndir = os.path.join(ETC, 'neutron')
    write(os.path.join(ndir, 'openvswitch_agent.ini'), ini({
        'agent': {'tunnel_types': '', 'l2_population': 'false', 'root_helper': 'env',
                  'polling_interval': str(POLLING_INTERVAL)},
        'ovs': {'datapath_type': 'netdev', 'ovsdb_connection': OVS_DB,
                'integration_bridge': 'br-int',
                'bridge_mappings': '%s:br-ex,%s:%s' % (PHYSNET, TENANT_PHYSNET, TENANT_BRIDGE),
                'of_listen_address': '127.0.0.1'},
        'securitygroup': {'enable_security_group': 'true', 'firewall_driver': FIREWALLS[backend]},
    }))
    write(os.path.join(ndir, 'l3_agent.ini'), ini({
        'DEFAULT': {'interface_driver': 'openvswitch', 'ovs_use_veth': 'true',
                    'agent_mode': 'legacy', 'enable_metadata_proxy': 'false'},
        'agent': {'root_helper': 'env'},
        'ovs': {'ovsdb_connection': OVS_DB, 'integration_bridge': 'br-int'},
    }))


def worker_specs():
    nconf = config_file('neutron', 'neutron.conf')
    env = service_env()
    return {
        'neutron-rpc-server': ([vbin('neutron-rpc-server')] + nconf, env),
        'neutron-openvswitch-agent': ([vbin('neutron-openvswitch-agent')] + nconf
                                      + config_file('neutron', 'openvswitch_agent.ini'), env),
        'neutron-l3-agent': ([vbin('neutron-l3-agent')] + nconf
                             + config_file('neutron', 'l3_agent.ini'), env),
    }


AGENTS = ('neutron-openvswitch-agent', 'neutron-l3-agent')
AGENT_TYPES = ('Open vSwitch agent', 'L3 agent')
# The queues of the RPC server that the agents call first.
RPC_QUEUES = ('q-plugin', 'q-reports-plugin', 'q-l3-plugin')


def agents_alive(agents, since):
    """Both agents of this host alive, with a heartbeat newer than `since` (UTC, 'YYYY-MM-DD
    HH:MM:SS'), from GET /v2.0/agents (cloud_services.admin_get)."""
    if agents is None:
        return False
    alive = {a['agent_type'] for a in agents.get('agents', [])
             if a['host'] == HOST and a['alive'] and (a.get('heartbeat_timestamp') or '')[:19] >= since}
    return all(t in alive for t in AGENT_TYPES)


def agent_firewall(agents):
    """The firewall driver the Open vSwitch agent of this host reports, or None."""
    for agent in (agents or {}).get('agents', []):
        if agent['host'] == HOST and agent['agent_type'] == 'Open vSwitch agent':
            return (agent.get('configurations') or {}).get('firewall_driver')
    return None


# --------------------------------------------------------------------------- the barrier

ITERATION = re.compile(r'rpc_loop - iteration:(\d+) (started|completed)|iteration:(\d+) - (agent port security group) processed')
DEAD_VLAN_TAG = 4095


def _agent_log_from(offset):
    try:
        with open(logfile('neutron-openvswitch-agent'), 'rb') as f:
            f.seek(offset)
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def _log_size():
    try:
        return os.path.getsize(logfile('neutron-openvswitch-agent'))
    except OSError:
        return 0


def _vsctl_json(*args):
    """ovs-vsctl --format=json's rows as dicts (column -> value), or None when it fails."""
    proc = subprocess.run(vsctl('--format=json', *args), capture_output=True, text=True, env=service_env(), check=False)
    if proc.returncode:
        return None
    table = json.loads(proc.stdout)
    return [dict(zip(table['headings'], row)) for row in table['data']]


def _ovs_map(value):
    """An OVSDB map in ovs-vsctl's JSON (["map", [[k, v], ...]]) as a dict."""
    return dict(value[1]) if isinstance(value, list) and value and value[0] == 'map' else {}


def unbound_ports():
    """Guest ports on br-int that the agent has not wired yet: it parks a new port on the dead
    VLAN 4095 (or none) until it has its details, flows and filter. A port Neutron does not know
    (a guest of a server being deleted) or holds admin down stays there by design: not waited
    for (asked of Neutron only when some port is on the dead VLAN)."""
    interfaces = _vsctl_json('--columns=name,external_ids', 'list', 'Interface')
    ports = _vsctl_json('--columns=name,tag', 'list', 'Port')
    if interfaces is None or ports is None:
        return ['(ovs-vsctl could not list the ports)']
    tags = {row['name']: row['tag'] for row in ports}
    dead = {row['name']: _ovs_map(row['external_ids']).get('iface-id') for row in interfaces
            if _ovs_map(row['external_ids']).get('iface-id') and tags.get(row['name']) in (DEAD_VLAN_TAG, ['set', []])}
    if not dead:
        return []
    import cloud_services       # imports this module
    from cloud_config import load_secrets
    answer = cloud_services.admin_get(load_secrets(), 'neutron-api', '/v2.0/ports?fields=id&admin_state_up=true')
    if answer is None:
        return sorted(dead)
    up = {port['id'] for port in answer.get('ports', [])}
    return sorted(name for name, iface_id in dead.items() if iface_id in up)


def settle(timeout=30.0):
    """ML2/OVS: return once the Open vSwitch agent has applied every change made so far.

    Neutron's server sends a port's change to the agent as it answers the API call (the
    port_update cast; a group's rules and members as pushed objects); the agent queues what it
    receives and applies it in its next rpc_loop iteration ("iteration:N started"): the port's
    local VLAN and flows, then the firewall ("iteration:N - agent port security group processed"),
    then it reports the ports up to the server (an RPC that took 2-6 s here) and the iteration
    "completed". So: the first iteration that started after this call has applied the firewall
    (or completed: an iteration with nothing to do skips it), and every guest port on br-int is
    wired (off the dead VLAN 4095, which the agent lifts for a new port right after its filter).
    This holds when what the server sent had arrived before this call began: the API call that
    made the change returned before it, and the messages take milliseconds on this host.
    Returns (ok, seconds, message)."""
    started = time.monotonic()
    offset = _log_size()
    deadline = started + timeout
    while True:
        if _log_size() < offset:      # the log was truncated: read it from its start
            offset = 0
        events = [(int(n or m), what or filtered) for n, what, m, filtered in ITERATION.findall(_agent_log_from(offset))]
        starts = [n for n, what in events if what == 'started']
        applied = {n for n, what in events if what != 'started'}
        waiting = unbound_ports() if starts and starts[0] in applied else None
        if waiting == []:
            return True, time.monotonic() - started, (
                'ML2/OVS: the Open vSwitch agent applied iteration %d, the first begun after the '
                'call, up to its firewall, and every guest port is wired' % starts[0])
        if time.monotonic() > deadline:
            why = ('ports still on the dead VLAN: %s' % ', '.join(waiting) if waiting
                   else 'no iteration of the agent that began since the call applied its firewall (%d began; '
                   'log %s)' % (len(starts), logfile('neutron-openvswitch-agent')))
            return False, time.monotonic() - started, 'ML2/OVS: ' + why
        time.sleep(0.1)


def remove_firewall_rules():
    """The iptables_hybrid firewall's chains and rules (`neutron-*`) in this host's tables,
    IPv4 and IPv6, the rest of each table kept: for `cloud stop` (the agent writes its own again
    when it starts). Nothing to do, and no error, where iptables is not installed."""
    for save, restore in (('iptables-save', 'iptables-restore'), ('ip6tables-save', 'ip6tables-restore')):
        if not (shutil.which(save) and shutil.which(restore)):
            continue
        try:
            proc = subprocess.run([save], capture_output=True, text=True, check=False)
            if proc.returncode or 'neutron-' not in proc.stdout:
                continue
            kept = [line for line in proc.stdout.splitlines() if 'neutron-' not in line]
            subprocess.run([restore], input='\n'.join(kept) + '\n', capture_output=True, text=True, check=False)
        except OSError:
            continue
