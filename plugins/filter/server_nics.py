# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: server_nics
short_description: Nova NICs that boot a server on existing ports, in order
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - "Turns the names of ports created beforehand into the O(openstack.cloud.server#module:nics)
    list that boots a server on them, one C({\"port-id\": ID}) per port, in the order given (the
    first is the server's primary interface)."
  - A server booted on ports created first keeps the ports' own groups, port security and
    pairs; Nova creates no port of its own.
  - Fails naming the port when a name is not among O(ports).
positional: ports
options:
  _input:
    description: Names of the server's ports, in interface order.
    type: list
    elements: str
    required: true
  ports:
    description:
      - The known ports, as a dict from name to port or as a list of ports (as
        M(openstack.cloud.port_info) or M(openstack.cloud.port) return them); each port has
        an C(id) and, in a list, a C(name).
    type: raw
    required: true
seealso:
  - module: openstack.cloud.server
  - module: openstack.cloud.port
"""

EXAMPLES = r"""
- name: Boot VM A on its two ports, the project-network port first
  openstack.cloud.server:
    name: vm-a
    image: ubuntu-24.04
    flavor: m1.small
    auto_ip: false
    nics: "{{ ['vm-a-port', 'vm-a-db-port'] | portsec.openstack.server_nics(created_ports) }}"
  vars:
    created_ports: "{{ port_results.results | map(attribute='port') | list }}"
# nics: [{"port-id": "6e1c..."}, {"port-id": "b04f..."}]
"""

RETURN = r"""
_value:
  description: 'One C({"port-id": ID}) per name, in the order of the names.'
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def server_nics(names, ports):
    if isinstance(ports, dict):
        by_name = ports
    else:
        by_name = {port.get('name'): port for port in ports or []}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise AnsibleFilterError('server_nics: no port named %s among the known ports (%s)'
                                 % (', '.join(missing), ', '.join(sorted(str(n) for n in by_name)) or 'none'))
    return [{'port-id': by_name[name]['id']} for name in names]


class FilterModule(object):
    def filters(self):
        return {'server_nics': server_nics}
