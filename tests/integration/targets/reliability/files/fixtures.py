#!/usr/bin/env python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create (setup) or delete (cleanup) what the reliability target works on, in one process.

One openstacksdk connection per project instead of one module run per resource: the fixtures
are no part of what the target proves. Everything is found by name first, so a run after an
interrupted one reuses (setup) or deletes (cleanup) what that one left.

    fixtures.py --vars-file VARS setup      # prints the IDs the tasks need, as JSON
    fixtures.py --vars-file VARS cleanup

VARS is a JSON file readable only by the user (no password in the process list):
    {"cloud_admin": {...}, "cloud_other": {...}, "external_network": NAME, "shared_network": NAME,
     "image": NAME, "flavor": NAME, "groups": [NAME, ...], "ports": [NAME, ...],
     "open_ports": [NAME, ...], "port_names": [NAME, ...], "group_names": [NAME, ...]}

setup creates, in the admin project: rel-net with rel-subnet (10.20.0.0/24, pool .2-.199), the security groups
`groups` and two groups named rel-twin, the ports `ports` on rel-net (port security off on
`open_ports`) and two ports named rel-twin, the server rel-srv booted with rel-srv-a and rel-srv-b,
rel-router from rel-subnet to the external network and a floating IP on rel-exposed; and, as the
other project, its port rel-other on the shared network. It raises the admin project's security
group quota (Neutron's default of 10 is too small for the group race next to other targets).
cleanup deletes the ports `port_names` and the groups `group_names` (in any project), with the
floating IPs, the server, the router and the network.
"""

import argparse
import concurrent.futures
import json
import sys
import time

import openstack

NETWORK = 'rel-net'
SUBNET = 'rel-subnet'
CIDR = '10.20.0.0/24'
# Neutron picks a port's address at random in the pool; the pool stops at .199 so that the
# addresses the bad-input cases name as nobody's (10.20.0.200-254) are never a port's.
POOL = [{'start': '10.20.0.2', 'end': '10.20.0.199'}]
SERVER = 'rel-srv'
SERVER_PORTS = ('rel-srv-a', 'rel-srv-b')
ROUTER = 'rel-router'
EXPOSED = 'rel-exposed'
TWIN = 'rel-twin'
OTHER_PORT = 'rel-other'
DEADLINE = 300
# Requests at a time (Neutron here serves 4).
WORKERS = 6


def only(items, what):
    items = list(items)
    if len(items) > 1:
        raise SystemExit('%d %s found, expected at most one: %s' % (len(items), what, [i.id for i in items]))
    return items[0] if items else None


def setup(config, admin, other):
    net = admin.network
    created = []
    project = admin.current_project_id
    net.update_quota(project, security_groups=100, security_group_rules=1000)

    def network_and_subnet():
        network = only(net.networks(name=NETWORK), 'networks ' + NETWORK)
        if network is None:
            network = net.create_network(name=NETWORK)
            created.append(NETWORK)
        subnet = only(net.subnets(name=SUBNET, network_id=network.id), 'subnets ' + SUBNET)
        if subnet is None:
            subnet = net.create_subnet(name=SUBNET, network_id=network.id, ip_version=4, cidr=CIDR,
                                       allocation_pools=POOL)
            created.append(SUBNET)
        return network, subnet

    def group(name):
        found = only(net.security_groups(name=name, project_id=project), 'security groups ' + name)
        if found is None:
            found = net.create_security_group(name=name)
            created.append(name)
        return found.id

    def port(name):
        found = only(net.ports(name=name, network_id=network.id), 'ports ' + name)
        if found is None:
            found = net.create_port(name=name, network_id=network.id,
                                    port_security_enabled=name not in config['open_ports'])
            created.append(name)
        return found.id

    # Neutron allows duplicate names: the "ambiguous group" and "ambiguous port" cases need two.
    def twin_groups():
        twins = list(net.security_groups(name=TWIN))
        for _missing in range(2 - len(twins)):
            twins.append(net.create_security_group(name=TWIN))
            created.append('group ' + TWIN)
        return sorted(twin.id for twin in twins)

    def twin_ports():
        twins = list(net.ports(name=TWIN))
        for _missing in range(2 - len(twins)):
            twins.append(net.create_port(name=TWIN, network_id=network.id))
            created.append('port ' + TWIN)
        return sorted(twin.id for twin in twins)

    # The router (slow: its gateway and interface are OVN transactions) starts before the subnet.
    def router(network_job):
        external = net.find_network(config['external_network'], ignore_missing=False)
        found = only(net.routers(name=ROUTER), 'routers ' + ROUTER)
        if found is None:
            found = net.create_router(name=ROUTER, external_gateway_info={'network_id': external.id})
            created.append(ROUTER)
        network, subnet = network_job.result()
        if not list(net.ports(device_id=found.id, network_id=network.id)):
            net.add_interface_to_router(found, subnet=subnet.id)
        return found.id, external.id

    def floating_ip(router_job, exposed_job):
        _router, external = router_job.result()
        exposed = exposed_job.result()
        found = only(net.ips(port_id=exposed), 'floating IPs of ' + EXPOSED)
        if found is None:
            found = net.create_ip(floating_network_id=external, port_id=exposed)
            created.append('floating IP')
        return found.floating_ip_address

    def server(port_jobs):
        ports = [job.result() for job in port_jobs]
        found = only(admin.compute.servers(name='^%s$' % SERVER), 'servers ' + SERVER)
        if found is None:
            image = admin.image.find_image(config['image'], ignore_missing=False)
            flavor = admin.compute.find_flavor(config['flavor'], ignore_missing=False)
            found = admin.compute.create_server(name=SERVER, image_id=image.id, flavor_id=flavor.id,
                                                networks=[{'port': port_id} for port_id in ports])
            created.append(SERVER)
        found = admin.compute.wait_for_server(found, status='ACTIVE', failures=['ERROR'], interval=1, wait=DEADLINE)
        attached = sorted(port.id for port in net.ports(device_id=found.id))
        if attached != sorted(ports):
            raise SystemExit('server %s has ports %s, expected %s' % (SERVER, attached, ports))
        return found.id

    def other_port():
        shared = other.network.find_network(config['shared_network'], ignore_missing=False)
        found = only(other.network.ports(name=OTHER_PORT, network_id=shared.id), 'ports ' + OTHER_PORT)
        if found is None:
            found = other.network.create_port(name=OTHER_PORT, network_id=shared.id)
            created.append(OTHER_PORT)
        return found.id, shared.id

    # Independent requests overlap (most of their time is Neutron's OVN transactions); a job
    # that needs another waits for it, and was queued after it.
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        network_job = pool.submit(network_and_subnet)
        router_job = pool.submit(router, network_job)
        network = network_job.result()[0]
        port_jobs = {name: pool.submit(port, name) for name in config['ports']}
        server_job = pool.submit(server, [port_jobs[name] for name in SERVER_PORTS])
        fip_job = pool.submit(floating_ip, router_job, port_jobs[EXPOSED])
        group_jobs = {name: pool.submit(group, name) for name in config['groups']}
        twin_group_job = pool.submit(twin_groups)
        twin_port_job = pool.submit(twin_ports)
        other_job = pool.submit(other_port)
        other_port_id, shared_id = other_job.result()
        return {
            'created': created,
            'network': network.id,
            'groups': {name: job.result() for name, job in group_jobs.items()},
            'ports': {name: job.result() for name, job in port_jobs.items()},
            'twin_groups': twin_group_job.result(),
            'twin_ports': twin_port_job.result(),
            'other_port': other_port_id,
            'shared_network': shared_id,
            'floating_ip': fip_job.result(),
            'server': server_job.result(),
            'router': router_job.result()[0],
        }


def cleanup(config, admin):
    net = admin.network
    deleted, errors = [], []

    def attempt(what, call, *args, **kwargs):
        try:
            call(*args, **kwargs)
            deleted.append(what)
        except openstack.exceptions.SDKException as error:
            errors.append('%s: %s' % (what, error))

    def server(found):
        attempt('server ' + SERVER, admin.compute.delete_server, found)
        try:
            admin.compute.wait_for_delete(found, interval=1, wait=DEADLINE)
        except openstack.exceptions.SDKException as error:
            errors.append('server %s still there: %s' % (SERVER, error))

    def router(found):
        for interface in net.ports(device_id=found.id, device_owner='network:router_interface'):
            attempt('interface of ' + ROUTER, net.remove_interface_from_router, found, port=interface.id)
        attempt('router ' + ROUTER, net.delete_router, found)

    ports = [port for port in net.ports() if port.name in config['port_names']]
    port_ids = {port.id for port in ports}
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        # The floating IPs, the server, the router and the ports nothing holds first, then the
        # ports they held, then the groups (ports held them), then the network.
        fips = [fip for fip in net.ips() if fip.port_id in port_ids]
        held = {fip.port_id for fip in fips} | {port.id for port in ports if (port.device_owner or '').startswith('compute:')}
        jobs = [pool.submit(attempt, 'floating IP ' + fip.floating_ip_address, net.delete_ip, fip) for fip in fips]
        jobs += [pool.submit(server, found) for found in admin.compute.servers(name='^%s$' % SERVER)]
        jobs += [pool.submit(router, found) for found in net.routers(name=ROUTER)]
        jobs += [pool.submit(attempt, 'port ' + port.name, net.delete_port, port) for port in ports if port.id not in held]
        concurrent.futures.wait(jobs)
        concurrent.futures.wait([pool.submit(attempt, 'port ' + port.name, net.delete_port, port)
                                 for port in ports if port.id in held])
        concurrent.futures.wait([pool.submit(attempt, 'group ' + group.name, net.delete_security_group, group)
                                 for group in net.security_groups() if group.name in config['group_names']])
    for network in net.networks(name=NETWORK):
        attempt('network ' + NETWORK, net.delete_network, network)
    return {'deleted': deleted, 'errors': errors}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--vars-file', required=True)
    parser.add_argument('action', choices=['setup', 'cleanup'])
    args = parser.parse_args()
    with open(args.vars_file) as handle:
        config = json.load(handle)
    started = time.monotonic()
    admin = openstack.connect(**config['cloud_admin'])
    if args.action == 'setup':
        result = setup(config, admin, openstack.connect(**config['cloud_other']))
    else:
        result = cleanup(config, admin)
    result['seconds'] = round(time.monotonic() - started, 1)
    print(json.dumps(result))
    return 1 if result.get('errors') else 0


if __name__ == '__main__':
    sys.exit(main())
