# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creates the local cloud's identity and resources with openstacksdk; idempotent.

Run by `tests/cloud/cloud` with the cloud venv's Python:
    bootstrap.py identity <settings.json>   service users, catalog, member projects and users
    bootstrap.py resources <settings.json>  networks, RBAC, flavor, image
"""

import json
import sys

import openstack


def admin_conn(s):
    return openstack.connect(
        auth_url=s['auth_url'], username='admin', password=s['passwords']['admin'],
        project_name='admin', user_domain_name='Default', project_domain_name='Default',
        region_name=s['region'], interface='public', identity_api_version='3')


def ensure_role(conn, name):
    return conn.identity.find_role(name) or conn.identity.create_role(name=name)


def ensure_project(conn, name, description):
    return (conn.identity.find_project(name, domain_id='default')
            or conn.identity.create_project(name=name, domain_id='default',
                                            description=description))


def ensure_user(conn, name, password, project):
    user = conn.identity.find_user(name, domain_id='default')
    if user is None:
        user = conn.identity.create_user(name=name, password=password, domain_id='default',
                                         default_project_id=project.id)
    else:
        conn.identity.update_user(user, password=password)
    return user


def grant(conn, project, user, role):
    if not conn.identity.validate_user_has_project_role(project, user, role):
        conn.identity.assign_project_role_to_user(project, user, role)


def identity(s):
    conn = admin_conn(s)
    admin_role = ensure_role(conn, 'admin')
    service_role = ensure_role(conn, 'service')
    member_role = ensure_role(conn, 'member')
    service = ensure_project(conn, 'service', 'Service users of the local cloud')
    for name in ('nova', 'neutron', 'glance', 'placement'):
        user = ensure_user(conn, name, s['passwords'][name], service)
        grant(conn, service, user, admin_role)
        grant(conn, service, user, service_role)
    for name, stype, url in s['catalog']:
        svc = conn.identity.find_service(name)
        if svc is None:
            svc = conn.identity.create_service(name=name, type=stype, enabled=True)
        have = {(e.interface, e.url) for e in conn.identity.endpoints(service_id=svc.id)}
        for interface in ('public', 'internal'):
            if (interface, url) not in have:
                conn.identity.create_endpoint(service_id=svc.id, interface=interface,
                                              url=url, region_id=s['region'])
    for name in ('portsec-owner', 'portsec-other'):
        project = ensure_project(conn, name, 'Member project of the local cloud')
        user = ensure_user(conn, name, s['passwords'][name], project)
        grant(conn, project, user, member_role)
    print('identity ready')


def resources(s):
    conn = admin_conn(s)
    owner = conn.identity.find_project('portsec-owner', domain_id='default')
    other = conn.identity.find_project('portsec-other', domain_id='default')

    net = conn.network.find_network('portsec-shared', project_id=owner.id)
    if net is None:
        net = conn.network.create_network(name='portsec-shared', project_id=owner.id)
    if not list(conn.network.subnets(network_id=net.id)):
        conn.network.create_subnet(name='portsec-shared-subnet', network_id=net.id,
                                   project_id=owner.id, ip_version=4,
                                   cidr=s['shared_cidr'])
    rbac = [r for r in conn.network.rbac_policies(object_id=net.id)
            if r.action == 'access_as_shared' and r.target_project_id == other.id]
    if not rbac:
        conn.network.create_rbac_policy(object_type='network', object_id=net.id,
                                        action='access_as_shared',
                                        target_project_id=other.id, project_id=owner.id)

    pub = conn.network.find_network('public')
    if pub is None:
        pub = conn.network.create_network(
            name='public', is_router_external=True, provider_network_type='flat',
            provider_physical_network=s['physnet'])
    if not list(conn.network.subnets(network_id=pub.id)):
        conn.network.create_subnet(
            name='public-subnet', network_id=pub.id, ip_version=4, cidr=s['public_cidr'],
            gateway_ip=s['public_gateway'], is_dhcp_enabled=False,
            allocation_pools=[{'start': s['public_pool'][0], 'end': s['public_pool'][1]}])

    if conn.compute.find_flavor('portsec.tiny') is None:
        conn.compute.create_flavor(name='portsec.tiny', ram=64, vcpus=1, disk=1,
                                   is_public=True)

    if conn.image.find_image('portsec-image') is None:
        conn.image.create_image(
            name='portsec-image', data=b'portsec local cloud image\n' * 40,
            disk_format='raw', container_format='bare', visibility='public',
            use_import=False, validate_checksum=False, wait=True)
    image = conn.image.find_image('portsec-image')
    if image.status != 'active':
        raise SystemExit('image portsec-image is %s, not active' % image.status)
    print('resources ready')


def main():
    with open(sys.argv[2]) as f:
        settings = json.load(f)
    {'identity': identity, 'resources': resources}[sys.argv[1]](settings)


if __name__ == '__main__':
    main()
