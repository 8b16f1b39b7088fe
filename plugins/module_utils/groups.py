# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Security group names and IDs, resolved inside the port's project.

An admin sees a `default` group in every project: resolving names in the port's
own project keeps that from being an ambiguity. One list call serves both the
resolution and the names shown in diffs and results.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.addresses import is_uuid


class GroupCatalog:
    """The security groups of one project (id -> name), plus any shared ones met.

    The project's groups are listed once, on first use (thread-safe: the ports of
    a bulk task share their project's catalog).
    """

    def __init__(self, cloud, project_id):
        self.cloud = cloud
        self.project_id = project_id
        self.lock = threading.Lock()
        self.loaded = None
        self.known = {}

    @property
    def groups(self):
        """The project's groups, listed on first use."""
        with self.lock:
            if self.loaded is None:
                self.loaded = self.cloud.list_security_groups(project_id=self.project_id)
                self.known.update((group['id'], group.get('name')) for group in self.loaded)
            return self.loaded

    @property
    def names(self):
        """id -> name of every group met so far (the project's are listed first)."""
        return self.known if self.groups is not None else {}

    def resolve(self, refs, verify_ids=True):
        """IDs for the given names or IDs, in the given order.

        With verify_ids=False, a list made only of IDs is returned as given, without
        a request (the reachability model reads the groups by ID anyway).
        """
        if not verify_ids and all(isinstance(ref, str) and is_uuid(ref) for ref in refs or []):
            return list(refs or [])
        ids = []
        for ref in refs or []:
            if not isinstance(ref, str) or not ref:
                raise PortsecError('security_groups entry %r must be a non-empty group name'
                                   ' or ID.' % (ref,))
            if ref in self.names:
                ids.append(ref)
                continue
            matches = [group for group in self.groups if group.get('name') == ref]
            if len(matches) > 1:
                raise PortsecError(
                    'Security group name %r matches %d groups in project %s (%s): give the'
                    ' group ID instead.' % (ref, len(matches), self.project_id,
                                            ', '.join(group['id'] for group in matches)))
            if matches:
                ids.append(matches[0]['id'])
                continue
            if is_uuid(ref):
                # A group shared with this project by RBAC lives in another project.
                found = self.cloud.list_security_groups(id=ref)
                if found:
                    self.names[ref] = found[0].get('name')
                    ids.append(ref)
                    continue
            raise PortsecError(
                'Security group %r was not found in project %s, the project of the port:'
                ' create it there first, or give the ID of a group shared with that project.'
                ' Groups there: %s.' % (ref, self.project_id,
                                        ', '.join(sorted(set(n for n in self.names.values() if n)))
                                        or 'none'))
        return ids

    def name_map(self, ids):
        """id -> name for display; fetches names of groups outside the project once."""
        missing = [group for group in ids if group not in self.names]
        if missing:
            for group in self.cloud.list_security_groups(id=missing):
                self.names[group['id']] = group.get('name')
        return dict(self.names)


class GroupCatalogs:
    """One GroupCatalog per project, for the ports of one task."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.lock = threading.Lock()
        self.catalogs = {}

    def of(self, port):
        project = port.get('project_id')
        with self.lock:
            if project not in self.catalogs:
                self.catalogs[project] = GroupCatalog(self.cloud, project)
            return self.catalogs[project]
