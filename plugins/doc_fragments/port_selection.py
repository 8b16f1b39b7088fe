# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Which port(s) a module works on. DOCUMENTATION: one port, or the ports of one server;
    # MANY: many ports in one task. network, fixed_ip and mac_address mean the same in every
    # module: they narrow a selection by port or server.
    DOCUMENTATION = r"""
options:
  port:
    description:
      - Name or ID of one port.
      - Mutually exclusive with O(server) and O(ports).
    type: str
  server:
    description:
      - Name or ID of a server, for its ports.
      - A module that works on one port needs one port of it. If the server has several,
        choose it with O(network), O(fixed_ip) or O(mac_address); otherwise the task fails and
        lists the server's ports.
    type: str
  network:
    description:
      - Name or ID of the port's network, to choose among the ports of O(server), or among
        ports that share the name O(port). To select every port of a network, use
        O(port_filters.network).
    type: str
  fixed_ip:
    description:
      - A fixed IP address of the port, to choose among the ports of O(server) or among ports
        that share the name O(port).
    type: str
  mac_address:
    description:
      - The MAC address of the port, to choose among the ports of O(server) or among ports
        that share the name O(port).
    type: str
"""

    MANY = r"""
options:
  ports:
    description:
      - Names or IDs of many ports, in one task. With O(port_filters), only the listed ports that
        also match the filters.
    type: list
    elements: str
  port_filters:
    description:
      - Select many ports by what they have in common. All given filters must match.
    type: dict
    suboptions:
      network:
        description: Name or ID of the ports' network.
        type: str
      server:
        description: Name or ID of the server the ports belong to.
        type: str
      device_owner:
        description: Device owner of the ports, for example V(compute:nova).
        type: str
      project_id:
        description: ID of the project that owns the ports.
        type: str
      tags:
        description: Tags the ports must all carry.
        type: list
        elements: str
      name:
        description:
          - Port name, or a shell-style pattern such as V(db-*) matched on the port names.
        type: str
"""
