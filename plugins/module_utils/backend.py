# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which Neutron backend a cloud runs, from what the caller can see, and never a guess.

The evidence, best first, and what each costs:

1. A port's binding, already read with the port (no request). Only an admin sees
   binding:vif_type and binding:vif_details (Neutron's policy: admin_only). ML2 names the
   mechanism driver that bound the port in vif_details ``bound_drivers`` (level 0,
   Ml2Plugin._update_port_dict_bound_drivers). Without it: the Open vSwitch
   mechanism driver writes ``ovs_hybrid_plug`` into vif_details, the agent's answer to "does my
   firewall driver need a Linux bridge per port" (mech_openvswitch._pre_get_vif_details):
   true for iptables_hybrid (OVSHybridIptablesFirewallDriver.OVS_HYBRID_PLUG_REQUIRED), false
   for the openvswitch driver. The OVN mechanism driver never writes ``ovs_hybrid_plug``; it
   writes ``ovs_create_tap`` (OVNMechanismDriver._setup_vif_port_bindings).
2. For an admin whose ports are not bound: the agent list (one request). ML2/OVS runs
   "Open vSwitch agent"s that report ``ovs_hybrid_plug`` in their configurations; ML2/OVN
   reports "OVN Controller agent"s and "OVN Controller Gateway agent"s
   (neutron/common/ovn/constants.py).
3. For a project member: the extension aliases (one request; /v2.0/extensions has no policy).
   The ML2 plugin offers only the aliases every mechanism driver supports
   (Ml2Plugin._filter_extensions_by_mech_driver), and OVNMechanismDriver.supported_extensions
   keeps only ML2_SUPPORTED_API_EXTENSIONS (neutron/common/ovn/extensions.py). So an ML2
   alias outside that list shows that the OVN driver is not loaded (NOT_OVN_ML2). The OVN L3
   plugin (ovn-router) offers aliases the agent-based L3RouterPlugin does not, and it works
   only with the OVN mechanism driver (OVN_L3). A member cannot see which firewall driver
   ML2/OVS agents run, so "not OVN" leaves both ML2/OVS drivers open.

Evidence that is absent, or that points two ways, decides nothing: the result is then
``unknown`` with the backends still possible (``candidates``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portsec.openstack.plugins.module_utils.errors import PortsecError

BACKENDS = ('ovn', 'ovs', 'iptables_hybrid')
ML2_OVS = ('ovs', 'iptables_hybrid')
BACKEND_NAMES = {'ovn': 'ML2/OVN', 'ovs': 'ML2/OVS (openvswitch)',
                 'iptables_hybrid': 'ML2/OVS (iptables_hybrid)'}

# Aliases of the OVN L3 plugin that Neutron's agent-based L3RouterPlugin does not offer:
# ML2_SUPPORTED_API_EXTENSIONS_OVN_L3 (neutron/common/ovn/extensions.py), plus the alias
# OVNL3RouterPlugin.supported_extension_aliases appends, minus L3RouterPlugin's
# _supported_extension_aliases and minus the ML2 extension drivers' aliases (dns-*), which
# either backend offers when configured. Checked on both local backends (Neutron 29): all five
# offered on ML2/OVN, none on ML2/OVS.
OVN_L3 = (
    'enable-default-route-bfd',
    'enable-default-route-ecmp',
    'external-gateway-multihoming',
    'l3-agent-scheduler-ha-chassis-priority',
    'router-enable-snat',
)

# Aliases the ML2 plugin offers (Ml2Plugin._supported_extension_aliases) that are not in
# ML2_SUPPORTED_API_EXTENSIONS, so the OVN mechanism driver withholds them: offered, they show
# that the OVN driver is not loaded. Checked on both local backends (Neutron 29): all eight
# offered on ML2/OVS, none on ML2/OVN. A later Neutron may add one to OVN's list; then the
# OVN L3 aliases contradict it and nothing is concluded.
NOT_OVN_ML2 = (
    'aap-reject-multicast',
    'agent-resources-synced',
    'agent_sort_key',
    'availability_zone_filter',
    'port-mac-override',
    'port-security-groups-filtering',
    'rbac-address-group',
    'rbac-subnetpool',
)

OVS_AGENT = 'Open vSwitch agent'
OVN_AGENTS = ('OVN Controller agent', 'OVN Controller Gateway agent')


def detection(requested, backend, candidates, evidence, requests=0):
    """The detection's result: requested (auto or a backend), backend (one of BACKENDS or
    unknown), candidates (the backends still possible), evidence (what was seen, in words)
    and requests (API requests it made)."""
    return {'requested': requested, 'backend': backend, 'candidates': list(candidates),
            'evidence': list(evidence), 'requests': requests}


def _decided(found, evidence, requests):
    if len(found) == 1:
        return detection('auto', found[0], found, evidence, requests)
    return detection('auto', 'unknown', found, evidence, requests)


def from_binding(port):
    """(backends, evidence) from one port's binding, or (None, None) when it says nothing
    (not visible to the caller, unbound, or another mechanism)."""
    vif_type = port.get('binding:vif_type')
    details = port.get('binding:vif_details')
    if not vif_type or vif_type in ('unbound', 'binding_failed') or not isinstance(details, dict):
        return None, None
    name = port.get('name') or port.get('id')
    # ML2 records the drivers that bound the port, level by level
    # (Ml2Plugin._update_port_dict_bound_drivers); older releases do not.
    drivers = details.get('bound_drivers')
    driver = drivers.get('0') if isinstance(drivers, dict) else None
    if driver == 'ovn':
        return ['ovn'], ('port %s is bound by the ovn mechanism driver (vif_details'
                         ' bound_drivers): ML2/OVN' % name)
    if driver is not None and driver != 'openvswitch':
        return None, None
    if 'ovs_hybrid_plug' in details:
        hybrid = details['ovs_hybrid_plug'] is True
        found = 'iptables_hybrid' if hybrid else 'ovs'
        return [found], ('port %s is bound by the Open vSwitch mechanism driver (vif_type %s,'
                         ' ovs_hybrid_plug %s): %s' % (name, vif_type,
                                                       str(details['ovs_hybrid_plug']).lower(),
                                                       BACKEND_NAMES[found]))
    if 'ovs_create_tap' in details:
        return ['ovn'], ('port %s is bound by the OVN mechanism driver (vif_type %s, vif_details'
                         ' with ovs_create_tap): ML2/OVN' % (name, vif_type))
    return None, None


def from_agents(agents):
    """(backends, evidence) from Neutron's agent list (alive or not: they show what the
    cloud runs)."""
    types = sorted({agent.get('agent_type') for agent in agents if agent.get('agent_type')})
    ovn = [kind for kind in types if kind in OVN_AGENTS]
    ovs = [agent for agent in agents if agent.get('agent_type') == OVS_AGENT]
    if ovn and ovs:
        return list(BACKENDS), ('agents of both mechanisms (%s): a cloud in migration, each port'
                                ' may be bound by either' % ', '.join(types))
    if ovn:
        return ['ovn'], 'agents %s: ML2/OVN' % ', '.join(ovn)
    if ovs:
        plugs = sorted({str((agent.get('configurations') or {}).get('ovs_hybrid_plug')).lower()
                        for agent in ovs})
        if plugs == ['true']:
            return ['iptables_hybrid'], ('%d Open vSwitch agent(s), ovs_hybrid_plug true:'
                                         ' ML2/OVS (iptables_hybrid)' % len(ovs))
        if plugs == ['false']:
            return ['ovs'], ('%d Open vSwitch agent(s), ovs_hybrid_plug false: ML2/OVS'
                             ' (openvswitch)' % len(ovs))
        return list(ML2_OVS), ('%d Open vSwitch agents, ovs_hybrid_plug %s: the firewall'
                               ' driver differs between hosts' % (len(ovs), ', '.join(plugs)))
    return list(BACKENDS), ('no OVN or Open vSwitch agent among %s'
                            % (', '.join(types) or 'no agents'))


def from_extensions(aliases):
    """(backends, evidence) from the extension aliases Neutron offers."""
    offered = set(aliases)
    ovn_l3 = [alias for alias in OVN_L3 if alias in offered]
    not_ovn = [alias for alias in NOT_OVN_ML2 if alias in offered]
    if ovn_l3 and not not_ovn:
        return ['ovn'], ('extensions %s (the OVN L3 plugin) and none of %s (which the OVN'
                         ' mechanism driver withholds): ML2/OVN' % (', '.join(ovn_l3),
                                                                    ', '.join(NOT_OVN_ML2)))
    if not_ovn and not ovn_l3:
        return list(ML2_OVS), ('extensions %s, which the OVN mechanism driver withholds, and'
                               ' none of the OVN L3 plugin\'s: not ML2/OVN; a project member'
                               ' cannot see which firewall driver ML2/OVS runs'
                               % ', '.join(not_ovn))
    if ovn_l3 and not_ovn:
        return list(BACKENDS), ('extensions of both kinds (%s of the OVN L3 plugin; %s, which'
                                ' the OVN mechanism driver withholds): contradictory, nothing'
                                ' concluded' % (', '.join(ovn_l3), ', '.join(not_ovn)))
    return list(BACKENDS), ('none of the extensions that tell the backends apart (%s; %s)'
                            % (', '.join(OVN_L3), ', '.join(NOT_OVN_ML2)))


def detect(cloud, ports):
    """The backend that serves ports (the port dicts as read, binding fields included when
    the caller may see them), with at most one request to cloud (a Cloud of neutron.py)."""
    findings = [from_binding(port) for port in ports]
    decided = [item for item in findings if item[0] is not None]
    if decided:
        found = sorted({name for names, _text in decided for name in names}, key=BACKENDS.index)
        return _decided(found, [text for _names, text in decided], 0)
    admin = any('binding:vif_type' in port for port in ports)
    before = cloud.requests
    try:
        if admin:
            found, text = from_agents(cloud.list_agents(
                fields=['agent_type', 'binary', 'configurations']))
            text = 'no port bound; ' + text
        else:
            found, text = from_extensions(cloud.list_extension_aliases())
    except PortsecError as exc:
        found, text = list(BACKENDS), 'the %s could not be read: %s' % (
            'agent list' if admin else 'extension list', exc.message)
    return _decided(found, [text], cloud.requests - before)


def resolve(cloud, requested, ports):
    """The detection for the module option backend: auto detects, a backend is taken as
    given (no request)."""
    if requested == 'auto':
        return detect(cloud, ports)
    if requested not in BACKENDS:
        raise PortsecError('backend %r is not one of auto, %s.' % (requested, ', '.join(BACKENDS)))
    return detection(requested, requested, [requested], ['given as backend=%s' % requested])


def assumption(found):
    """The assumptions entry (code BACKEND) that says what was seen and what was concluded."""
    if found['requested'] != 'auto':
        concluded = 'Modelled as %s, as given.' % BACKEND_NAMES[found['backend']]
    elif found['backend'] != 'unknown':
        concluded = 'Detected %s: %s.' % (BACKEND_NAMES[found['backend']],
                                          '; '.join(found['evidence']))
    else:
        concluded = ('Backend unknown (%s), so every verdict is worked out for %s; one that'
                     ' differs between them is not given.'
                     % ('; '.join(found['evidence']),
                        ', '.join(BACKEND_NAMES[name] for name in found['candidates'])))
    differs = (' Pairs with host bits, destination filtering and remote group membership'
               ' differ between ML2/OVN and ML2/OVS; stateless groups between the openvswitch'
               ' and iptables_hybrid firewall drivers of ML2/OVS. Other mechanism drivers are'
               ' not modelled.')
    return {'code': 'BACKEND', 'detail': concluded + differs}
