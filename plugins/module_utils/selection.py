# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which port(s) a task is about: by port name/ID, or by server plus a selector.

select_ports() returns every matching port; select_one_port() insists on one,
and lists the candidates when there are several, so the user can pick.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    NeutronError,
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.addresses import (
    is_uuid,
    normalize_mac,
    parse_address,
)


def selection_argument_spec():
    return dict(
        port=dict(type='str'),
        server=dict(type='str'),
        network=dict(type='str'),
        fixed_ip=dict(type='str'),
        mac_address=dict(type='str'),
    )


def describe_port(port):
    ips = ', '.join(ip.get('ip_address') for ip in port.get('fixed_ips') or [])
    return '%s (id %s, network %s, fixed IPs %s, MAC %s%s)' % (
        port.get('name') or '<no name>', port.get('id'), port.get('network_id'),
        ips or 'none', port.get('mac_address'),
        ', server %s' % port['device_id'] if port.get('device_id') else '')


def find_server(cloud, ref):
    """The one server whose ID or name is ref; PortsecError if none or several."""
    servers = cloud.find_servers(ref)
    if not servers:
        raise PortsecError(
            'Server %r was not found: give the name or ID of a server of this project'
            ' (openstack server list).' % ref)
    if len(servers) > 1:
        raise PortsecError(
            'Server name %r matches %d servers (%s): give the server ID instead.'
            % (ref, len(servers), ', '.join(server['id'] for server in servers)))
    return servers[0]


def _candidates(ports):
    return '; '.join(describe_port(port) for port in ports)


def network_ids(cloud, network):
    """The IDs of the network(s) a name or ID names; PortsecError if none."""
    if is_uuid(network):
        return {network}
    networks = cloud.list_networks(name=network, fields=['id'])
    if not networks:
        raise PortsecError('Network %r was not found: give the name or ID of a network'
                           ' the cloud user can see.' % network)
    return {net['id'] for net in networks}


def _filter(cloud, ports, params):
    if params.get('network'):
        wanted = network_ids(cloud, params['network'])
        ports = [port for port in ports if port.get('network_id') in wanted]
    if params.get('fixed_ip'):
        wanted_ip = parse_address(params['fixed_ip'], what='fixed_ip', strict_text=False)
        ports = [port for port in ports
                 if any(ip.get('ip_address') == str(wanted_ip.ip)
                        for ip in port.get('fixed_ips') or [])]
    if params.get('mac_address'):
        mac = normalize_mac(params['mac_address'])
        ports = [port for port in ports if port.get('mac_address') == mac]
    return ports


def _selector_text(params):
    parts = ['%s %s' % (name, params[name]) for name in ('network', 'fixed_ip', 'mac_address')
             if params.get(name)]
    return ' and '.join(parts)


def select_ports(cloud, params):
    """All ports matching port/server plus the network/fixed_ip/mac_address selectors."""
    if params.get('port'):
        ref = params['port']
        ports = []
        if is_uuid(ref):
            try:
                ports = [cloud.get_port(ref)]
            except NeutronError as exc:
                if exc.status != 404:
                    raise
        if not ports:
            ports = cloud.list_ports(name=ref)
        if not ports:
            raise PortsecError(
                'Port %r was not found: give the name or ID of a port the cloud user can'
                ' see (openstack port list).' % ref)
        selected = _filter(cloud, ports, params)
        if not selected:
            raise PortsecError('Port %r does not match %s. Candidates: %s'
                               % (ref, _selector_text(params), _candidates(ports)))
        return selected

    ref = params['server']
    ports = cloud.list_ports(device_id=ref) if is_uuid(ref) else []
    if not ports:
        ports = cloud.list_ports(device_id=find_server(cloud, ref)['id'])
        if not ports:
            raise PortsecError('Server %r has no ports.' % ref)
    selected = _filter(cloud, ports, params)
    if not selected:
        raise PortsecError('Server %r has no port with %s. Its ports: %s'
                           % (ref, _selector_text(params), _candidates(ports)))
    return selected


def select_one_port(cloud, params):
    ports = select_ports(cloud, params)
    if len(ports) == 1:
        return ports[0]
    if params.get('port'):
        raise PortsecError(
            'Port name %r matches %d ports: give the port ID, or narrow it with network,'
            ' fixed_ip or mac_address. Candidates: %s'
            % (params['port'], len(ports), _candidates(ports)))
    raise PortsecError(
        'Server %r has %d ports%s: choose one with network, fixed_ip or mac_address, or'
        ' give the port itself. Its ports: %s'
        % (params['server'], len(ports),
           ' matching %s' % _selector_text(params) if _selector_text(params) else '',
           _candidates(ports)))


# -- many ports in one task ---------------------------------------------------------

def many_argument_spec():
    """Options that select many ports (port_selection.many)."""
    return dict(
        ports=dict(type='list', elements='str'),
        port_filters=dict(type='dict', options=dict(
            network=dict(type='str'),
            server=dict(type='str'),
            device_owner=dict(type='str'),
            project_id=dict(type='str'),
            tags=dict(type='list', elements='str'),
            name=dict(type='str'),
        )),
    )


def bulk_argument_spec():
    """Options of a changing module's bulk mode (port_selection.many and .bulk)."""
    return dict(many_argument_spec(), concurrency=dict(type='int', default=8))


BULK_KWARGS = dict(
    required_one_of=[('port', 'server', 'ports', 'port_filters')],
    mutually_exclusive=[('port', 'server', 'ports'), ('port', 'server', 'port_filters')],
)


def is_bulk(params):
    return params.get('ports') is not None or params.get('port_filters') is not None


def _filter_query(cloud, filters):
    """Neutron list filters for port_filters (the name pattern is applied here)."""
    query = {}
    if filters.get('network'):
        ids = network_ids(cloud, filters['network'])
        query['network_id'] = sorted(ids)
    if filters.get('server'):
        ref = filters['server']
        query['device_id'] = ref if is_uuid(ref) else find_server(cloud, ref)['id']
    if filters.get('device_owner'):
        query['device_owner'] = filters['device_owner']
    if filters.get('project_id'):
        query['project_id'] = filters['project_id']
    if filters.get('tags'):
        query['tags'] = ','.join(filters['tags'])
    if filters.get('name') and not any(char in filters['name'] for char in '*?['):
        query['name'] = filters['name']
    return query


def _name_matches(port, pattern):
    import fnmatch
    return fnmatch.fnmatchcase(port.get('name') or '', pattern)


def select_many(cloud, params):
    """Ports named in `ports` (names or IDs) and/or matching `port_filters`.

    Costs one list call for the IDs and one for the names in `ports` (Neutron
    accepts repeated id/name filters), or one list call with the filters.
    Returns (ports, missing): references of `ports` that matched nothing.
    """
    stray = [name for name in ('network', 'fixed_ip', 'mac_address') if params.get(name)]
    if stray:
        raise PortsecError(
            '%s only choose among the ports of port or server; with ports or port_filters, use'
            ' port_filters (network, server, tags, name...) instead.' % ', '.join(stray))
    filters = params.get('port_filters') or {}
    query = _filter_query(cloud, filters) if filters else {}
    refs = params.get('ports')
    if refs is None:
        ports = cloud.list_ports(**query)
        missing = []
    else:
        ids = [ref for ref in refs if is_uuid(ref)]
        names = [ref for ref in refs if not is_uuid(ref)]
        found = {}
        if ids:
            for port in cloud.list_ports(id=ids, **query):
                found[port['id']] = port
        # A name that looks like an ID is rare; it is tried as a name too.
        unresolved_ids = [ref for ref in ids if ref not in found]
        if names or unresolved_ids:
            by_name = cloud.list_ports(name=names + unresolved_ids, **query)
            for port in by_name:
                found.setdefault(port['id'], port)
        missing = []
        for ref in refs:
            hits = [port for port in found.values() if ref in (port['id'], port.get('name'))]
            if not hits:
                missing.append(ref)
            elif len(hits) > 1 and ref not in found:
                raise PortsecError(
                    'Port name %r matches %d ports: give port IDs in ports instead.'
                    ' Candidates: %s' % (ref, len(hits), _candidates(hits)))
        ports = sorted(found.values(), key=lambda port: refs.index(
            port['id'] if port['id'] in refs else port.get('name')))
    if filters.get('name'):
        ports = [port for port in ports if _name_matches(port, filters['name'])]
    return ports, missing


def select_task_ports(cloud, params):
    """The ports of a task: (ports, references in `ports` that matched nothing)."""
    if is_bulk(params):
        return select_many(cloud, params)
    return [select_one_port(cloud, params)], []
