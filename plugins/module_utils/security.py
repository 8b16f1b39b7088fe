# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Port security and security groups of one port: the plan and the exposure guard (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portsec.openstack.plugins.module_utils.errors import (
    PortsecError,
)
from ansible_collections.portsec.openstack.plugins.module_utils.plan import Plan
from ansible_collections.portsec.openstack.plugins.module_utils.views import pair_view, port_label


class PortSecurityPlan(Plan):
    """Fields to PUT on one port, and what the change removes."""

    def __init__(self, changes, removed_groups, removed_pairs, warnings):
        super(PortSecurityPlan, self).__init__(changes, warnings)
        self.removed_groups = removed_groups
        self.removed_pairs = removed_pairs

    @property
    def disables(self):
        return self.changes.get('port_security_enabled') is False


def validate_port_security_request(enabled, security_groups):
    """Checks that need no port: raise PortsecError before any request.

    security_groups_mode is checked by the argument spec (choices).
    """
    if enabled is False and security_groups:
        raise PortsecError(
            'security_groups (%s) cannot be combined with port_security_enabled: false:'
            ' a port without port security has no security groups (Neutron answers 400'
            ' PortSecurityAndIPRequiredForSecurityGroups). Remove security_groups, or set'
            ' port_security_enabled: true.' % ', '.join(security_groups))


def plan_port_security(port, enabled=None, group_ids=None, mode='exact'):
    """Plan port_security_enabled and security group changes for one port.

    enabled: None (leave as is) or a bool. group_ids: None (leave as is) or
    the resolved IDs of the requested groups, interpreted by mode (exact, add,
    remove; checked by the argument spec). Disabling clears groups and pairs in the same PUT, as Neutron
    refuses to disable port security while either is present (409).
    """
    current_enabled = bool(port.get('port_security_enabled'))
    current_groups = list(port.get('security_groups') or [])
    current_pairs = list(port.get('allowed_address_pairs') or [])
    target_enabled = current_enabled if enabled is None else enabled
    warnings = []

    if not target_enabled:
        if group_ids and mode != 'remove':
            raise PortsecError(
                'Port %s has port security disabled, so it cannot have security groups'
                ' (%s). Set port_security_enabled: true in the same task to enable it and'
                ' apply the groups in one update.'
                % (port_label(port), ', '.join(group_ids)))
        target_groups = []
    elif group_ids is None:
        target_groups = current_groups
    elif mode == 'exact':
        target_groups = _ordered_unique(group_ids)
    elif mode == 'add':
        target_groups = _ordered_unique(current_groups + list(group_ids))
    else:
        target_groups = [group for group in current_groups if group not in set(group_ids)]

    changes = {}
    if target_enabled != current_enabled:
        changes['port_security_enabled'] = target_enabled
    if set(target_groups) != set(current_groups):
        changes['security_groups'] = target_groups
    removed_groups = [group for group in current_groups if group not in set(target_groups)]
    removed_pairs = []
    if not target_enabled and current_pairs:
        changes['allowed_address_pairs'] = []
        removed_pairs = current_pairs
    if target_enabled and not target_groups:
        warnings.append(
            'Port %s has port security enabled and no security groups: Neutron drops all'
            ' its traffic except what its own rules never block (DHCP, and in OVN ARP/ND).'
            ' Give security_groups to let traffic through.' % port_label(port))
    return PortSecurityPlan(changes, removed_groups, removed_pairs, warnings)


def exposure_reasons(port, floating_ips, network):
    """Why disabling port security on this port exposes it to the outside.

    floating_ips: the port's floating IPs; network: the port's network.
    """
    reasons = []
    addresses = sorted(fip.get('floating_ip_address') for fip in floating_ips or []
                       if fip.get('floating_ip_address'))
    if addresses:
        reasons.append('it has floating IP(s) %s' % ', '.join(addresses))
    if network and network.get('router:external'):
        reasons.append('it sits on the external network %s'
                       % (network.get('name') or network.get('id')))
    return reasons


def _ordered_unique(items):
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def guard_exposure(port, reasons, accept_exposure, check_mode):
    """The warnings of disabling port security on an exposed port, or PortsecError.

    reasons: exposure_reasons() of the port, read before the first write; None
    when port security was off then (another writer has turned it on since).
    """
    if reasons is None:
        raise PortsecError(
            'Port %s had port security off when this task read it, and another writer has'
            ' turned it on since: re-run the task, so that its floating IPs and network are'
            ' checked before port security is disabled.' % port_label(port))
    if not reasons:
        return []
    text = ' and '.join(reasons)
    if not accept_exposure:
        raise PortsecError(
            'Refusing to disable port security on port %s: %s, so every port of the'
            ' VM behind it would be reachable from outside with no security group and'
            ' no anti-spoofing. Set accept_exposure: true to accept that exposure, or'
            ' keep port security on and open only what is needed (security groups,'
            ' allowed address pairs).' % (port_label(port), text))
    return ['Port security %s disabled on port %s although %s: every port of the VM'
            ' behind it is reachable from outside, with no security group and no'
            ' anti-spoofing.' % ('would be' if check_mode else 'is', port_label(port), text)]


def removed_view(plan, port_mac, group_names):
    """What a plan removes, as returned to the user: groups with names, pairs with MACs."""
    return dict(
        security_groups=[{'id': group, 'name': group_names.get(group)} for group in plan.removed_groups],
        allowed_address_pairs=[pair_view(raw, port_mac) for raw in plan.removed_pairs])
