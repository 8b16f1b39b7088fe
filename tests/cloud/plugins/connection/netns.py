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
  - The namespace is C(ansible_netns) if that namespace exists, else the live namespace the local
    cloud recorded for a server named like the host (or like its C(ansible_host) when a task is
    delegated to it) (C(tests/cloud/.state/guests/*.json)), so hosts that a playbook adds
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
  wait_timeout:
    description:
      - Seconds to wait for the namespace to appear (Nova reports a server ACTIVE just before
        the local cloud plugs its namespace), as an SSH connection waits for a booting VM.
    type: int
    default: 30
    vars:
      - name: ansible_netns_timeout
"""

import glob
import json
import os
import shlex
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection

_DEFAULT_GUESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__)))), '.state', 'guests')


class Connection(LocalConnection):
    """The local connection, with each command run in a network namespace."""

    transport = 'netns'

    def _namespace(self):
        deadline = time.monotonic() + self.get_option('wait_timeout')
        while True:
            # ansible_netns first; if that namespace is gone (an inventory read before the
            # server was deleted and booted again under the same name), the live record of a
            # server of the host's name.
            candidates = [self.get_option('netns')]
            try:
                candidates.append(self._find_namespace())
                error = None
            except AnsibleConnectionFailure as exc:
                error = exc
            for ns in candidates:
                if ns and os.path.exists(os.path.join('/run/netns', ns)):
                    return ns
            if time.monotonic() >= deadline:
                raise error or AnsibleConnectionFailure(
                    'netns: no network namespace %s' % ' or '.join(ns for ns in candidates if ns))
            time.sleep(0.5)

    def _find_namespace(self):
        # A task delegated to a guest sees the delegating host's inventory_hostname; its
        # remote address is the delegated host's ansible_host, or else its name.
        names = [name for name in (self.get_option('host_name'), self._play_context.remote_addr) if name]
        folder = self.get_option('guests_dir') or _DEFAULT_GUESTS
        records = []
        for path in glob.glob(os.path.join(folder, '*.json')):
            try:
                with open(path) as f:
                    records.append((os.path.getmtime(path), json.load(f)))
            except (OSError, ValueError):
                continue
        # Newest first, live namespaces first: a server deleted and booted again under the
        # same name may leave its old record for a moment.
        records.sort(key=lambda item: (os.path.exists(os.path.join('/run/netns', item[1].get('namespace', ''))),
                                       item[0]), reverse=True)
        for name in names:
            for _mtime, rec in records:
                if rec.get('server_name') == name:
                    return rec['namespace']
        raise AnsibleConnectionFailure(
            'netns: no namespace for host %s (set ansible_netns, or boot a server of that name '
            'on the local cloud; records in %s)' % (' or '.join(names) or '?', folder))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        ns = self._namespace()
        if isinstance(cmd, (str, bytes)):
            if isinstance(cmd, bytes):
                cmd = cmd.decode('utf-8', 'surrogateescape')
            # The whole command line is a shell script (raw, or the module wrapper's
            # `/bin/sh -c ...`): run all of it in the namespace, not just its first word,
            # or `a; b` and `$(...)` would run partly in this machine's namespace.
            cmd = 'ip netns exec %s /bin/sh -c %s' % (shlex.quote(ns), shlex.quote(cmd))
        else:
            cmd = ['ip', 'netns', 'exec', ns] + list(cmd)
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
