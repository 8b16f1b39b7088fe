# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Which port(s) a changing module works on: one port, or many in one task.
    DOCUMENTATION = r"""
options:
  port:
    description:
      - Name or ID of the one port to manage.
      - Mutually exclusive with O(server) and O(ports).
    type: str
  server:
    description:
      - Name or ID of the server whose port is managed.
      - If the server has several ports, choose one with O(network), O(fixed_ip) or
        O(mac_address); otherwise the task fails and lists the server's ports.
    type: str
  network:
    description:
      - Name or ID of the port's network, to choose among the ports of O(server), or among
        ports that share the name O(port).
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
  ports:
    description:
      - Names or IDs of many ports to manage in one task (bulk mode). With O(port_filters),
        only the listed ports that also match the filters.
      - In bulk mode the module returns RV(results), one entry per port. Each port is planned
        and updated on its own, so a failure on one port never leaves another half-applied;
        the task fails if any port failed, after the others were applied.
    type: list
    elements: str
  port_filters:
    description:
      - Select many ports by what they have in common (bulk mode). All given filters must match.
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
  concurrency:
    description:
      - In bulk mode, how many ports are updated at the same time.
    type: int
    default: 8
"""
