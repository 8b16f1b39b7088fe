# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The port as the modules return it, with the optional names that cost requests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portsec.openstack.plugins.module_utils.errors import NeutronError
from ansible_collections.portsec.openstack.plugins.module_utils.planning import port_view


def port_result(cloud, port, group_names, resolve_names=False):
    network_name = server_name = None
    if resolve_names:
        network_name = cloud.get_network(port['network_id']).get('name') or ''
        server_name = ''
        if port.get('device_id') and (port.get('device_owner') or '').startswith('compute:'):
            try:
                servers = cloud.find_servers(port['device_id'])
            except NeutronError:
                servers = []
            server_name = servers[0].get('name') if servers else ''
    return port_view(port, group_names, network_name, server_name)
