# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Error types shared by the modules and the pure planning code (no SDK import)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PortsecError(Exception):
    """An error the user can act on; becomes fail_json(msg=message, **result)."""

    def __init__(self, message, **result):
        super(PortsecError, self).__init__(message)
        self.message = message
        self.result = result


class NeutronError(PortsecError):
    """An error answer from Neutron (status, NeutronError type and message)."""

    def __init__(self, message, status=None, error_type=None, neutron_message=None, **result):
        result.setdefault('status_code', status)
        result.setdefault('neutron_error', error_type)
        super(NeutronError, self).__init__(message, **result)
        self.status = status
        self.error_type = error_type
        self.neutron_message = neutron_message
