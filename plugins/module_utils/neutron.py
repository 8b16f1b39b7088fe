# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Thin access to the Neutron and Nova APIs through one openstacksdk connection.

Plain JSON over the SDK's authenticated adapters: every request is visible here,
so the request budget documented in the modules is easy to keep true. Every
port read is normalised here, once (normalize_port). Writes are single requests:
retries and read-backs live in converge.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    NeutronError,
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.addresses import is_uuid
from ansible_collections.portsec.openstack.plugins.module_utils.views import port_label

POLICY_FIELDS = ('port_security_enabled', 'allowed_address_pairs')

# The fields of a security group read with its rules (audit, reachability). Neutron leaves out
# a field it does not know (stateful before the stateful-security-group extension): no error.
GROUP_FIELDS = ['id', 'name', 'project_id', 'stateful', 'security_group_rules']

# The extension that makes Neutron check If-Match: revision_number=N (the revisions service
# plugin, with standard-attr-revisions). A Neutron without it answers 400 to that header
# (neutron/api/api_common.py, ensure_if_match_supported), so it is asked once per task,
# before the first write (Cloud.offers), and the header is left out when it is missing.
IF_MATCH = 'revision-if-match'

IF_MATCH_MISSING = (
    'This Neutron does not offer the revision-if-match extension, so port updates were sent'
    ' without the If-Match revision precondition: a change that another writer makes to the'
    ' same port between this task\'s read and its write can be lost (the read-back after each'
    ' write notices only our own change being undone). Ask the cloud operator to load the'
    ' revisions service plugin (loaded by default with ML2), or keep other writers away'
    ' from these ports while the task runs.')

# What the operator enables for an extension a module needs (require_extension_field).
EXTENSION_HINTS = {
    'port-security': 'add port_security to extension_drivers in the [ml2] section of the ML2'
                     ' configuration (ml2_conf.ini) and restart neutron-server',
    'allowed-address-pairs': 'use mechanism drivers that all support it (the ML2 core plugin offers'
                             ' it unless one of them withholds it; ML2/OVN and ML2/OVS support it)',
}


def normalize_port(port):
    """The port as every caller sees it: MACs in lower case, project_id set.

    Neutron returns project_id and its older name tenant_id; MACs are compared
    in lower case (a pair's MAC and the port's may have been written in any case).
    """
    if 'mac_address' in port and port['mac_address']:
        port['mac_address'] = port['mac_address'].lower()
    if 'project_id' in port or 'tenant_id' in port:
        port['project_id'] = port.get('project_id') or port.get('tenant_id')
    for pair in port.get('allowed_address_pairs') or []:
        if pair.get('mac_address'):
            pair['mac_address'] = pair['mac_address'].lower()
    return port


def _neutron_error(response, action):
    status = response.status_code
    error_type = None
    message = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get('NeutronError') or body.get('error') or {}
        if isinstance(detail, dict):
            error_type = detail.get('type')
            message = detail.get('message')
        if message is None:
            for value in body.values():
                if isinstance(value, dict) and value.get('message'):
                    message = value['message']
                    break
    if message is None:
        message = (response.text or response.reason or '').strip()[:500]
    text = '%s failed: Neutron answered %s%s: %s' % (
        action, status, ' %s' % error_type if error_type else '', message)
    return NeutronError(text, status=status, error_type=error_type,
                        neutron_message=message)


class Cloud:
    """Neutron/Nova requests for one task. `conn` is an openstacksdk Connection."""

    def __init__(self, conn):
        self.conn = conn
        self.requests = 0
        # alias -> True/False (or the message of a failed look-up): asked once per task.
        self.extensions = {}
        self._extensions_lock = threading.Lock()

    # -- raw requests ----------------------------------------------------------

    def _request(self, adapter, method, url, action, **kwargs):
        self.requests += 1
        response = adapter.request(url, method, raise_exc=False, **kwargs)
        if response.status_code >= 400:
            raise _neutron_error(response, action)
        if not response.content:
            return {}
        return response.json()

    def _network(self, method, url, action, **kwargs):
        return self._request(self.conn.network, method, url, action, **kwargs)

    # -- reads -------------------------------------------------------------------

    def get_port(self, port_id):
        return normalize_port(self._network('GET', '/ports/%s' % port_id,
                                            'Reading port %s' % port_id)['port'])

    def list_ports(self, **filters):
        return [normalize_port(port)
                for port in self._network('GET', '/ports', 'Listing ports', params=filters)['ports']]

    def list_networks(self, **filters):
        return self._network('GET', '/networks', 'Listing networks', params=filters)['networks']

    def get_network(self, network_id):
        return self._network('GET', '/networks/%s' % network_id,
                             'Reading network %s' % network_id)['network']

    def list_security_groups(self, **filters):
        filters.setdefault('fields', ['id', 'name', 'project_id'])
        return self._network('GET', '/security-groups', 'Listing security groups',
                             params=filters)['security_groups']

    def list_floating_ips(self, **filters):
        """Floating IPs; none on a Neutron without L3 (the router extension), whose API
        has no /floatingips and answers 404."""
        try:
            return self._network('GET', '/floatingips', 'Listing floating IPs',
                                 params=filters)['floatingips']
        except NeutronError as exc:
            if exc.status == 404:
                return []
            raise

    def list_address_groups(self, **filters):
        return self._network('GET', '/address-groups', 'Listing address groups',
                             params=filters)['address_groups']

    def list_servers(self, **filters):
        """Servers (id and name) in one request; Nova filters by project unless
        all_tenants is given by an admin."""
        return self._request(self.conn.compute, 'GET', '/servers', 'Listing servers',
                             params=filters)['servers']

    def find_servers(self, name_or_id):
        """Servers whose ID or exact name is name_or_id (Nova filters by regex)."""
        compute = self.conn.compute
        if is_uuid(name_or_id):
            try:
                server = self._request(compute, 'GET', '/servers/%s' % name_or_id,
                                       'Reading server %s' % name_or_id)['server']
                return [server]
            except NeutronError as exc:
                if exc.status != 404:
                    raise
        servers = self._request(compute, 'GET', '/servers', 'Listing servers',
                                params={'name': '^%s$' % _regex_escape(name_or_id)})['servers']
        return [server for server in servers if server.get('name') == name_or_id]

    def get_extension(self, alias):
        """The extension with this alias, or None: Neutron answers 404 for one it lacks
        (neutron/pecan_wsgi/controllers/extensions.py); any user may read extensions."""
        try:
            return self._network('GET', '/extensions/%s' % alias,
                                 'Reading Neutron extension %s' % alias).get('extension')
        except NeutronError as exc:
            if exc.status == 404:
                return None
            raise

    def list_extension_aliases(self):
        """The aliases of every extension Neutron offers, in one request (no policy)."""
        return [item.get('alias') for item in self._network(
            'GET', '/extensions', 'Listing Neutron extensions').get('extensions') or []]

    def list_agents(self, **filters):
        """Neutron's agents (admin only: a member gets 403)."""
        return self._network('GET', '/agents', 'Listing Neutron agents', params=filters)['agents']

    def offers(self, alias):
        """Whether Neutron offers the extension: one request the first time in a task,
        the same answer afterwards, also for ports written in other threads."""
        with self._extensions_lock:
            if alias not in self.extensions:
                try:
                    self.extensions[alias] = self.get_extension(alias) is not None
                except NeutronError as exc:
                    self.extensions[alias] = (
                        'Neutron could not say whether it offers the %s extension, which decides'
                        ' how ports are updated, so nothing was changed: %s. Re-run the task.'
                        % (alias, exc.message))
            found = self.extensions[alias]
        if not isinstance(found, bool):
            raise PortsecError(found)
        return found

    # -- writes --------------------------------------------------------------------

    def update_port(self, port_id, changes, revision=None):
        headers = {}
        if revision is not None:
            headers['If-Match'] = 'revision_number=%d' % revision
        return normalize_port(self._network('PUT', '/ports/%s' % port_id, 'Updating port %s' % port_id,
                                            json={'port': changes}, headers=headers)['port'])


def _regex_escape(text):
    """Escape a name for Nova's regex name filter (same as re.escape, kept
    explicit because the database's regex dialect is not Python's)."""
    special = set('.^$*+?{}[]\\|()')
    return ''.join('\\' + char if char in special else char for char in text)


def explain_update_error(exc, port, fields):
    """Turn Neutron's answer to a port update into a message a user can act on.

    Neutron's own message is always included.
    """
    if not isinstance(exc, NeutronError):
        return exc
    label = port_label(port)
    policy_fields = [field for field in fields if field in POLICY_FIELDS]
    if exc.status == 403 and policy_fields:
        message = (
            'Neutron refused to change %s on port %s (403 Forbidden). Its default policy'
            ' lets only an admin or a member of the project that owns the port\'s network'
            ' (network %s) change port_security_enabled and allowed_address_pairs, even on'
            ' a port of your own on a shared network. Run the task as the network owner'
            ' or an admin, or ask them to change it. Neutron said: %s'
            % (', '.join(policy_fields), label, port.get('network_id'), exc.neutron_message))
    elif exc.error_type == 'AllowedAddressPairExhausted':
        count = len(port.get('allowed_address_pairs') or [])
        message = (
            'Port %s cannot hold that many allowed address pairs: the update asked for'
            ' more than the cloud allows (server option max_allowed_address_pair, 10 by'
            ' default; the port has %d now). Use fewer pairs, for example one prefix'
            ' instead of several hosts. Neutron said: %s'
            % (label, count, exc.neutron_message))
    elif exc.error_type == 'AddressPairAndPortSecurityRequired':
        message = (
            'Port %s has port security disabled, and allowed address pairs require it.'
            ' Enable it first (portsec.openstack.port_security with'
            ' port_security_enabled: true). Neutron said: %s' % (label, exc.neutron_message))
    elif exc.status == 403:
        message = ('Neutron refused to update port %s (403 Forbidden): the cloud user may'
                   ' not change it. Neutron said: %s' % (label, exc.neutron_message))
    else:
        message = 'Updating port %s failed: Neutron answered %s%s: %s' % (
            label, exc.status, ' %s' % exc.error_type if exc.error_type else '',
            exc.neutron_message)
    return NeutronError(message, status=exc.status, error_type=exc.error_type,
                        neutron_message=exc.neutron_message)


def require_extension_field(port, field, alias):
    """A port without the field means Neutron lacks the extension: say so before any write."""
    if field not in port:
        raise PortsecError(
            'This Neutron does not offer the %s extension (port %s has no %s field), so'
            ' %s cannot be managed here; nothing was changed. Ask the cloud operator to'
            ' enable it: %s.'
            % (alias, port_label(port), field, field,
               EXTENSION_HINTS.get(alias, 'the ML2 extension driver or service plugin that offers it')))
