"""Capture what each caller sees of the local cloud's Neutron backend, as unit-test data.

The backend detection of portsec.openstack (plugins/module_utils/backend.py) decides from
what a caller can read: a project member the extension aliases (GET /v2.0/extensions, no
policy), an admin also the agent list and a bound port's binding:vif_type/vif_details. This
script reads exactly those on the running local cloud and writes them, with the command that
produced them, to tests/unit/plugins/module_utils/data/backend_<backend>.json:

    sudo tests/cloud/cloud start --backend ovs-hybrid
    tests/cloud/.state/venv/bin/python tests/cloud/capture_backend_evidence.py

It boots one server (the bed's image and flavor) on a throwaway network to have a bound port,
and deletes both before it exits.
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STATE = os.path.join(HERE, '.state')
OUT = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'module_utils', 'data')
MODEL = {'ovn': 'ovn', 'ovs': 'ovs', 'ovs-hybrid': 'iptables_hybrid'}


def main():
    os.environ['OS_CLIENT_CONFIG_FILE'] = os.path.join(STATE, 'clouds.yaml')
    import openstack  # the bed's venv

    with open(os.path.join(STATE, 'backend')) as handle:
        bed_backend = handle.read().strip()
    member = openstack.connect(cloud='portsec-owner')
    admin = openstack.connect(cloud='portsec-admin')
    aliases = sorted(ext.alias for ext in member.network.extensions())
    agents = sorted(({'agent_type': agent.agent_type, 'binary': agent.binary,
                      'alive': agent.is_alive,
                      'configurations': {key: value for key, value in
                                         (agent.configuration or {}).items()
                                         if key in ('ovs_hybrid_plug', 'datapath_type')}}
                     for agent in admin.network.agents()),
                    key=lambda item: (item['agent_type'], item['binary']))
    net = member.network.create_network(name='capture-evidence')
    try:
        member.network.create_subnet(network_id=net.id, ip_version=4, cidr='10.99.0.0/24',
                                     name='capture-evidence')
        port = member.network.create_port(network_id=net.id, name='capture-evidence')
        unbound = admin.network.get_port(port.id)
        image = member.image.find_image('portsec-image')
        flavor = member.compute.find_flavor('portsec.tiny')
        server = member.compute.create_server(name='capture-evidence', image_id=image.id,
                                              flavor_id=flavor.id, networks=[{'port': port.id}])
        member.compute.wait_for_server(server, wait=120)
        deadline = time.time() + 60
        bound = admin.network.get_port(port.id)
        while bound.binding_vif_type in (None, 'unbound') and time.time() < deadline:
            time.sleep(1)
            bound = admin.network.get_port(port.id)
        seen_by_member = member.network.get('/ports/%s' % port.id).json()['port']
        member.compute.delete_server(server)
        member.compute.wait_for_delete(server, wait=120)
    finally:
        for item in member.network.ports(network_id=net.id):
            if item.device_owner in ('', None) or item.name == 'capture-evidence':
                member.network.delete_port(item)
        member.network.delete_network(net)

    def binding(item):
        return {'binding:vif_type': item.binding_vif_type,
                'binding:vif_details': item.binding_vif_details,
                'binding:vnic_type': item.binding_vnic_type}

    data = {
        'command': ('sudo tests/cloud/cloud start --backend %s && tests/cloud/.state/venv/bin/python'
                    ' tests/cloud/capture_backend_evidence.py' % bed_backend),
        'backend': MODEL[bed_backend],
        'neutron': _neutron_version(),
        'member_extensions': aliases,
        'member_port_binding_keys': sorted(key for key in seen_by_member if key.startswith('binding')),
        'admin_agents': agents,
        'admin_port_unbound': binding(unbound),
        'admin_port_bound': binding(bound),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'backend_%s.json' % MODEL[bed_backend])
    with open(path, 'w') as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write('\n')
    print('wrote %s: %d aliases, %d agents, bound vif_type %s'
          % (path, len(aliases), len(agents), bound.binding_vif_type))
    return 0


def _neutron_version():
    from importlib import metadata
    return metadata.version('neutron')


if __name__ == '__main__':
    sys.exit(main())
