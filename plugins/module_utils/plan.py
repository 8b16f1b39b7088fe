# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every plan is: the fields to PUT on one port, and the warnings to show (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Plan:
    """changes: the fields to PUT ({} when the port is as wanted); warnings: messages."""

    def __init__(self, changes, warnings=None):
        self.changes = changes
        self.warnings = list(warnings or [])

    @property
    def changed(self):
        return bool(self.changes)
