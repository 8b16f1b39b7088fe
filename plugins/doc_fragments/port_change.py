# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # What every module that changes ports shares: names on request, bulk mode, the request
    # budget and the limit of the lost-update guard (plugins/module_utils/port_change.py).
    DOCUMENTATION = r"""
options:
  resolve_names:
    description:
      - Also return the names of the port's security groups, network and server, which costs
        up to three more requests (the groups are listed once per project).
      - Otherwise the names are null, except the security group names in diff mode.
    type: bool
    default: false
  concurrency:
    description:
      - With O(ports) or O(port_filters), how many ports are updated at the same time.
    type: int
    default: 8
notes:
  - "With O(ports) or O(port_filters) (bulk mode) the module returns RV(results), one entry per
    port. Each port is planned and updated on its own, so a failure on one port never leaves
    another half-applied; the task fails if any port failed, after the others were applied."
  - "Requests (the figures are measured on the L(Performance,https://example.invalid/portsec/openstack/docs/performance.md)
    page): Keystone, 2 (version discovery and the token, as for openstack.cloud); Neutron,
    1 version discovery, then for a port by ID one C(GET) of the port, for a port by name one
    list instead. So a no-op costs 4 requests where C(openstack.cloud.port) spends 9 to 11.
    Selecting by O(server) name adds one Nova request and lists the server's ports instead of
    reading the port. O(resolve_names=true) adds up to three. A change adds one C(PUT) and one
    C(GET) that reads the port back one second later (Neutron can let a concurrent write land on
    top of ours; see the L(reliability guide,https://example.invalid/portsec/openstack/docs/reliability.md)),
    and, once per task before its first write, one C(GET) of C(/v2.0/extensions/revision-if-match);
    a retry after a conflict adds one C(GET), one C(PUT) and one C(GET). A no-op and check mode
    never ask for the extension."
  - "In bulk mode the reads do not grow with the number of ports: Keystone 2, Neutron 1 version
    discovery, one list of ports (two when O(ports) mixes names and IDs; one more to resolve
    O(port_filters.network) or O(port_filters.server) given by name), with O(resolve_names=true)
    one list of security groups per project; then, when a port changes, one C(GET) of the
    C(revision-if-match) extension for the whole task, and one C(PUT) and one read-back C(GET) per
    port that changes (one second after the write). When that read shows other writers at work on
    the port, it is read again every two seconds until its revision holds still (at most 12 s),
    and the change is re-applied if it was undone."
  - "What the lost-update guard does not cover: when Neutron retries B(our) write (which passed
    its C(If-Match) check) on top of a write by a tool that sends no C(If-Match) (the openstack
    CLI, Horizon, C(openstack.cloud.port)), that tool's change to the same field can be lost, and
    the read-back, which finds our change in place, cannot see it. The answer to our write cannot
    tell that case from a harmless one, so the module does not warn; see the reliability guide."
  - "Neutron extensions (what each one is for and since which release: the
    L(Neutron features,https://example.invalid/portsec/openstack/docs/neutron-features.md) page):
    a port without the field of the extension the module manages (C(port_security_enabled):
    C(port-security); C(allowed_address_pairs): C(allowed-address-pairs)) fails, naming the
    extension and what the operator enables, before any write. Updates carry C(If-Match) only
    when Neutron offers C(revision-if-match), asked once per task before the first write (a
    Neutron without it refuses the header with 400); without it the ports are still updated,
    and the task warns once that a concurrent writer's change to the same port can be lost."
"""
