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
from ansible_collections.portsec.openstack.plugins.module_utils.planning import (
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


SELECTION_KWARGS = dict(
    required_one_of=[('port', 'server')],
    mutually_exclusive=[('port', 'server')],
)


def describe_port(port):
    ips = ', '.join(ip.get('ip_address') for ip in port.get('fixed_ips') or [])
    return '%s (id %s, network %s, fixed IPs %s, MAC %s%s)' % (
        port.get('name') or '<no name>', port.get('id'), port.get('network_id'),
        ips or 'none', port.get('mac_address'),
        ', server %s' % port['device_id'] if port.get('device_id') else '')


def _candidates(ports):
    return '; '.join(describe_port(port) for port in ports)


def _network_ids(cloud, network):
    if is_uuid(network):
        return {network}
    networks = cloud.list_networks(name=network, fields=['id'])
    if not networks:
        raise PortsecError('Network %r was not found: give the name or ID of a network'
                           ' the cloud user can see.' % network)
    return {net['id'] for net in networks}


def _filter(cloud, ports, params):
    if params.get('network'):
        wanted = _network_ids(cloud, params['network'])
        ports = [port for port in ports if port.get('network_id') in wanted]
    if params.get('fixed_ip'):
        wanted_ip = parse_address(params['fixed_ip'], what='fixed_ip', strict_text=False)
        ports = [port for port in ports
                 if any(ip.get('ip_address') == str(wanted_ip.ip)
                        for ip in port.get('fixed_ips') or [])]
    if params.get('mac_address'):
        mac = normalize_mac(params['mac_address'])
        ports = [port for port in ports if (port.get('mac_address') or '').lower() == mac]
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
        servers = cloud.find_servers(ref)
        if not servers:
            raise PortsecError(
                'Server %r was not found: give the name or ID of a server of this project'
                ' (openstack server list).' % ref)
        if len(servers) > 1:
            raise PortsecError(
                'Server name %r matches %d servers (%s): give the server ID instead.'
                % (ref, len(servers), ', '.join(server['id'] for server in servers)))
        ports = cloud.list_ports(device_id=servers[0]['id'])
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
