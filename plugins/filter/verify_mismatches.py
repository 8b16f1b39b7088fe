# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_mismatches
short_description: The rows whose verdict differs from the expected one, in words
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Of the rows that P(portsec.openstack.verify_rows#filter) builds, keeps those where the
    verdict, the blocking stage, the blocking port or the reply differs from the row's
    C(expected), and says for each what was expected and what the model gives, with the
    element and code that block the flow.
  - A row whose backend is V(unknown) is compared backend by backend (its C(backends)); each
    backend that differs gives its own line.
  - The P(portsec.openstack.verify#role) role fails with these lines (C(verify_result.mismatches)).
options:
  _input:
    description: Rows from P(portsec.openstack.verify_rows#filter) (or C(verify_result.rows)).
    type: list
    elements: dict
    required: true
seealso:
  - plugin: portsec.openstack.verify_rows
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Fail naming each flow that does not give the expected verdict
  ansible.builtin.assert:
    that: mismatches | length == 0
    fail_msg: "{{ mismatches | join(' | ') }}"
  vars:
    mismatches: "{{ verify_result.rows | portsec.openstack.verify_mismatches }}"
# db (tcp/5432 10.10.10.11 -> 10.10.10.12): expected allowed, reply pass; got blocked at source_anti_spoofing
# on vm-a-port (address 10.10.10.11, SRC_IP_NOT_AUTHORISED), reply fail (REPLY_DST_IP_NOT_AUTHORISED)
"""

RETURN = r"""
_value:
  description: One line per row that differs, in the order of the rows; empty when every row agrees.
  type: list
  elements: str
"""

from ansible_collections.portsec.openstack.plugins.filter.verify_rows import blocked_text, flow_text


def differs(row):
    exp = row['expected']
    return (row['verdict'] != exp['verdict'] or row['blocked_stage'] != exp['blocked_stage']
            or row['blocked_port'] != exp['blocked_port'] or row['reply'] != exp['reply'])


def mismatch_text(row):
    exp = row['expected']
    wanted = exp['verdict']
    if wanted == 'blocked':
        wanted += ' at %s on %s' % (exp['blocked_stage'], exp['blocked_port'])
    got = row['verdict']
    if row['blocked_stage']:
        got += ' at ' + (blocked_text(row) if 'blocked_code' in row else
                         '%s on %s' % (row['blocked_stage'], row['blocked_port']))
    reply_code = ' (%s)' % row['reply_code'] if row.get('reply_code') else ''
    return 'expected %s, reply %s; got %s, reply %s%s' % (
        wanted, exp['reply'], got, row['reply'], reply_code)


def row_mismatches(row):
    """A row with an unknown backend differs where one of its backends does; any other row
    where it differs itself."""
    if row.get('backends'):
        return ['%s on %s: %s' % (flow_text(row), item['backend'], mismatch_text(item))
                for item in row['backends'] if differs(item)]
    if differs(row):
        return ['%s: %s' % (flow_text(row), mismatch_text(row))]
    return []


def verify_mismatches(rows):
    return [text for row in rows for text in row_mismatches(row)]


class FilterModule(object):
    def filters(self):
        return {'verify_mismatches': verify_mismatches}
