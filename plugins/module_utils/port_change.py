# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one sequence of every module that changes ports (see module_utils/README.md).

PortChangeModule.run() selects the task's ports, and for each port, at most
`concurrency` at a time: checks the Neutron extension, gathers what the plan
needs (context), converges the port with the module's pure plan, explains
Neutron's errors, builds the port's result and diff. A module supplies its
options, its context, its plan and what it adds to the result. When the
task wrote to a Neutron without revision-if-match (asked before the first
write, see converge_port), it warns once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portsec.openstack.plugins.module_utils.base import PortsecModule
from ansible_collections.portsec.openstack.plugins.module_utils.bulk import run_per_port, task_result
from ansible_collections.portsec.openstack.plugins.module_utils.converge import converge_port
from ansible_collections.portsec.openstack.plugins.module_utils.errors import NeutronError, PortsecError
from ansible_collections.portsec.openstack.plugins.module_utils.groups import GroupCatalogs
from ansible_collections.portsec.openstack.plugins.module_utils.neutron import (
    IF_MATCH,
    IF_MATCH_MISSING,
    Cloud,
    explain_update_error,
    require_extension_field,
)
from ansible_collections.portsec.openstack.plugins.module_utils.selection import (
    BULK_KWARGS,
    bulk_argument_spec,
    find_server,
    select_task_ports,
    selection_argument_spec,
)
from ansible_collections.portsec.openstack.plugins.module_utils.views import change_diff, is_server_port, port_view


def port_result(cloud, port, group_names, resolve_names=False):
    """The port as returned (port_view), with its network and server names on request."""
    network_name = server_name = None
    if resolve_names:
        network_name = cloud.get_network(port['network_id']).get('name') or ''
        if is_server_port(port):
            try:
                server_name = find_server(cloud, port['device_id']).get('name')
            except PortsecError:  # a server the cloud user cannot see: no name
                server_name = None
    return port_view(port, group_names, network_name, server_name)


class PortChangeModule(PortsecModule):
    """Base class of a module that changes ports. A subclass sets:

    options: its own options (the selection, bulk and resolve_names options are added);
    required_one_of, mutually_exclusive: among its own options;
    extension: (port field, extension alias) the module needs;
    fields: the port fields it changes (named in Neutron's 403 answers).
    """

    options = {}
    required_one_of = []
    mutually_exclusive = []
    extension = (None, None)
    fields = ()

    def __init__(self):
        self.argument_spec = dict(selection_argument_spec(), resolve_names=dict(type='bool', default=False),
                                  **bulk_argument_spec())
        self.argument_spec.update(self.options)
        self.module_kwargs = dict(
            supports_check_mode=True,
            required_one_of=BULK_KWARGS['required_one_of'] + list(self.required_one_of),
            mutually_exclusive=BULK_KWARGS['mutually_exclusive'] + list(self.mutually_exclusive))
        super(PortChangeModule, self).__init__()

    # -- what a module supplies -------------------------------------------------

    def prepare(self):
        """Check the options before any request (raise PortsecError); warn here."""

    def context(self, cloud, port, groups):
        """What plan() needs beyond the port, read once per port before the first write.

        groups is the GroupCatalog of the port's project.
        """
        return None

    def plan(self, port, context):
        """Pure: the change for this port, a plan.Plan (changes: the fields to PUT;
        changed; warnings). Called several times per attempt."""
        raise NotImplementedError

    def report(self, plan, before, names):
        """What the module adds to the port's result (for example what was removed)."""
        return {}

    # -- the sequence ------------------------------------------------------------

    def run(self):
        self.prepare()
        cloud = Cloud(self.conn)
        ports, missing = select_task_ports(cloud, self.params)
        catalogs = GroupCatalogs(cloud)
        outcomes = run_per_port(ports, lambda port: self.change(cloud, port, catalogs.of(port)),
                                self.params['concurrency'], self.describe_error)
        if cloud.extensions.get(IF_MATCH) is False:  # asked before a write: one warning per task
            self.warn(IF_MATCH_MISSING)
        return task_result(self.params, ports, missing, outcomes, self.diff_mode, self.warn)

    def change(self, cloud, port, groups):
        """Converge one port; return its result."""
        require_extension_field(port, *self.extension)
        context = self.context(cloud, port, groups)
        try:
            after, plan, attempts, conflicts = converge_port(
                cloud, port, lambda current: self.plan(current, context), self.check_mode)
        except NeutronError as exc:
            raise explain_update_error(exc, port, self.fields)
        for warning in plan.warnings:
            self.warn(warning)
        names = {}
        if self.params['resolve_names'] or self.diff_mode:  # one list per project: on request
            names = groups.name_map(list(port.get('security_groups') or [])
                                    + list(after.get('security_groups') or []))
        result = dict(changed=plan.changed, attempts=attempts, conflicts=conflicts,
                      port=port_result(cloud, after, names, self.params['resolve_names']))
        result.update(self.report(plan, port, names))
        if self.diff_mode:
            result['diff'] = change_diff(port, after, names)
        return result
