# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The port as the modules show it: labels in messages, results, diffs (pure).

Ports are Neutron's dicts as normalised by neutron.normalize_port: MACs in lower
case, project_id always set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def port_label(port):
    name = port.get('name')
    if name:
        return '%s (%s)' % (name, port.get('id'))
    return str(port.get('id'))


def port_security_on(port):
    """Is the port filtered? A Neutron without the port-security extension has no
    port_security_enabled field, and filters every port (ML2 reads a missing value
    as on: neutron/plugins/ml2/plugin.py, _portsec_ext_port_update_processing)."""
    return port.get('port_security_enabled', True) is not False


def is_server_port(port):
    """Does the port belong to a server (Nova's device owners are compute:<zone>)?"""
    return bool(port.get('device_id')) and (port.get('device_owner') or '').startswith('compute:')


def pair_view(raw, port_mac):
    """A stored pair as returned to the user (MAC always filled in)."""
    return {'ip_address': raw.get('ip_address'),
            'mac_address': raw.get('mac_address') or port_mac or None}


def port_view(port, group_names=None, network_name=None, server_name=None):
    """The port as every module returns it (the one port shape of RETURN).

    group_names: id -> name of the security groups. network_name and server_name
    stay None when they were not looked up; server_name is None for a port that
    does not belong to a server.
    """
    group_names = group_names or {}
    port_mac = port.get('mac_address') or ''
    view = {
        'id': port.get('id'),
        'name': port.get('name'),
        'network_id': port.get('network_id'),
        'project_id': port.get('project_id'),
        'fixed_ips': [{'ip_address': ip.get('ip_address'), 'subnet_id': ip.get('subnet_id')}
                      for ip in port.get('fixed_ips') or []],
        'mac_address': port_mac,
        'port_security_enabled': port.get('port_security_enabled'),
        'security_groups': [{'id': group, 'name': group_names.get(group)}
                            for group in port.get('security_groups') or []],
        'allowed_address_pairs': [pair_view(raw, port_mac)
                                  for raw in port.get('allowed_address_pairs') or []],
        'revision_number': port.get('revision_number'),
        'device_id': port.get('device_id'),
        'device_owner': port.get('device_owner'),
        'network_name': network_name,
        'server_name': server_name,
    }
    return view


def diff_view(port, group_names=None):
    """Readable before/after for diff mode: group names and pairs."""
    group_names = group_names or {}
    port_mac = port.get('mac_address') or ''
    return {
        'port_security_enabled': port.get('port_security_enabled'),
        'security_groups': sorted(group_names.get(group) or group
                                  for group in port.get('security_groups') or []),
        'allowed_address_pairs': sorted(
            '%s (%s)' % (raw.get('ip_address'), raw.get('mac_address') or port_mac)
            for raw in port.get('allowed_address_pairs') or []),
    }


def change_diff(before, after, group_names):
    """Diff mode's before/after of one port change."""
    return dict(before=diff_view(before, group_names), after=diff_view(after, group_names),
                before_header=port_label(before), after_header=port_label(before))
