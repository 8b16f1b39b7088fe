# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible connection plugin of the local test cloud: run a host's tasks in its network namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
name: netns
short_description: Run tasks inside a Linux network namespace of this machine
description:
  - The local test cloud's servers are network namespaces (C(tests/cloud/lib/portsec_guests.py)).
    This plugin is the C(local) connection with every command run through
    C(ip netns exec <namespace>), so roles run unchanged in a guest (same files, same Python,
    the guest's interfaces, addresses and routes).
  - Needs root (C(ip netns exec)). Put the plugin on the path with
    C(ANSIBLE_CONNECTION_PLUGINS=tests/cloud/plugins/connection).
  - The namespace is C(ansible_netns) if set, else the namespace the local cloud recorded for a
    server named like the host (C(tests/cloud/.state/guests/*.json)), so hosts that a playbook adds
    with C(add_host) under the server's name (and a floating IP as C(ansible_host)) still reach
    the guest when the inventory gives their group C(ansible_connection=netns).
options:
  netns:
    description: The network namespace.
    type: str
    vars:
      - name: ansible_netns
  host_name:
    description: The host's name, looked up among the local cloud's servers when O(netns) is unset.
    type: str
    vars:
      - name: inventory_hostname
  guests_dir:
    description: Where the local cloud records its namespace guests.
    type: str
    env:
      - name: PORTSEC_GUESTS_DIR
    vars:
      - name: portsec_guests_dir
"""

import glob
import json
import os
import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection

_DEFAULT_GUESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__)))), '.state', 'guests')


class Connection(LocalConnection):
    """The local connection, with each command run in a network namespace."""

    transport = 'netns'

    def _namespace(self):
        ns = self.get_option('netns')
        if ns:
            return ns
        name = self.get_option('host_name')
        folder = self.get_option('guests_dir') or _DEFAULT_GUESTS
        for path in sorted(glob.glob(os.path.join(folder, '*.json'))):
            try:
                with open(path) as f:
                    rec = json.load(f)
            except (OSError, ValueError):
                continue
            if name and rec.get('server_name') == name:
                return rec['namespace']
        raise AnsibleConnectionFailure(
            'netns: no namespace for host %s (set ansible_netns, or boot a server of that name '
            'on the local cloud; records in %s)' % (name, folder))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        ns = self._namespace()
        if not os.path.exists(os.path.join('/run/netns', ns)):
            raise AnsibleConnectionFailure('netns: no network namespace %s' % ns)
        if isinstance(cmd, (str, bytes)):
            if isinstance(cmd, bytes):
                cmd = cmd.decode('utf-8', 'surrogateescape')
            cmd = 'ip netns exec %s %s' % (shlex.quote(ns), cmd)
        else:
            cmd = ['ip', 'netns', 'exec', ns] + list(cmd)
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
