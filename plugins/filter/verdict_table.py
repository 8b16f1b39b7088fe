# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: verdict_table
short_description: The verdicts of some states of a topology, next to the probes and the ports, as text
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Prints what the P(portsec.openstack.verify#role) role found, one block per state - whether
    every verdict is the expected one, how many probes agree, the control flow, then per flow
    the verdict, the probe (V(pass), V(DROPPED), V(error), with C(!) when it disagrees) and
    where it is blocked, then per port (from M(portsec.openstack.port_security_info)) its fixed
    IPs, port security, groups, pairs, floating IPs and findings.
  - This is the table of the collection's demo (C(ansible-playbook portsec.openstack.demo)).
  - Each state is a dict with C(verify) (a C(verify_result)), and optionally C(label) (the
    state's heading, by default C(verify.title)) and C(ports) (ports of
    M(portsec.openstack.port_security_info); without it the state has no port lines).
positional: title, prefix
options:
  _input:
    description: The states, in order; the first one's rows and ports give the line C(A -> B).
    type: list
    elements: dict
    required: true
  title:
    description: The first line of the table, after C(===); none when empty.
    type: str
    default: ""
  prefix:
    description:
      - The topology's name prefix - said after the title, and taken off the group names (C(demo-case1-ssh)
        is shown as C(ssh)).
    type: str
    default: ""
seealso:
  - plugin: portsec.openstack.verify_rows
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check Case 2 as done right
  ansible.builtin.include_role:
    name: portsec.openstack.verify
  vars:
    verify_case: 2
    verify_state: done_right

- name: Posture of the ports
  portsec.openstack.port_security_info:
  register: posture

- name: Show the verdicts and the ports
  ansible.builtin.debug:
    msg: "{{ [{'label': 'done right', 'verify': verify_result, 'ports': shop_ports}] | portsec.openstack.verdict_table('Case 2', 'shop') }}"
  vars:
    shop_ports: "{{ posture.ports | selectattr('name', 'match', 'shop-') | sort(attribute='name') }}"
# === Case 2 (prefix shop)
# A -> B: 10.10.10.11 -> 10.10.10.12 (shop-a -> shop-b), backend ovn
#
# [done right]  verdicts vs the table: as expected  | packets: 3/3 agree
#     flow      verdict  packets  blocked at
#     db/5432   allowed  pass
#     ...
"""

RETURN = r"""
_value:
  description: The lines of the table.
  type: list
  elements: str
"""

import re

from ansible_collections.portsec.openstack.plugins.filter.verify_rows import blocked_text

FLOW_LINE = '    %-9s %-8s %-8s %s'
PORT_LINE = '    %-16s %-14s %-4s %-18s %-16s %-13s %s'
PROBE_WORDS = {'reached': 'pass', 'silent': 'DROPPED', 'error': 'error'}
LEGEND = ('packets: real probes from VM A (pass = answered, DROPPED = no answer; ! = disagrees with the verdict);'
          ' control: a flow on the fixed IPs that the groups admit, probed first')


def _heading(state):
    verify = state['verify']
    probes = verify.get('probes') or []
    if probes:
        packets = '%d/%d agree' % (len([p for p in probes if p.get('agrees')]), len(probes))
    else:
        packets = verify.get('probes_note', '')
    lines = ['[%s]  verdicts vs the table: %s  | packets: %s' % (
        state.get('label') or verify.get('title', ''), 'MISMATCH' if verify.get('mismatches') else 'as expected', packets)]
    if verify.get('control'):
        lines.append('    control: ' + verify['control'].get('summary', ''))
    return lines


def _flow_lines(verify):
    probes = {p['flow']: p for p in verify.get('probes') or []}
    lines = [FLOW_LINE % ('flow', 'verdict', 'packets', 'blocked at')]
    for row in verify['rows']:
        probe = probes.get(row['flow'], {})
        packets = PROBE_WORDS.get(probe.get('probe', ''), '-') + ('' if probe.get('agrees', True) else '!')
        where = blocked_text(row) or ('' if row['verdict'] == 'allowed' else row.get('summary', ''))
        lines.append(FLOW_LINE % ('%s/%s' % (row['flow'], row['port']) if row.get('port') else row['flow'],
                                  'BLOCKED' if row['verdict'] == 'blocked' else row['verdict'], packets, where))
    return lines


def _joined(values):
    return ','.join(values) or '-'


def _port_lines(ports, prefix):
    short = re.compile('^' + re.escape(prefix + '-')) if prefix else None
    lines = [PORT_LINE % ('port', 'fixed IPs', 'sec', 'groups', 'pairs', 'FIP', 'findings')]
    for port in ports:
        groups = [g['name'] for g in port.get('security_groups') or []]
        if short:
            groups = [short.sub('', name) for name in groups]
        codes = []
        for finding in port.get('findings') or []:
            if finding['code'] not in codes:
                codes.append(finding['code'])
        lines.append(PORT_LINE % (
            port['name'], ','.join(ip['ip_address'] for ip in port.get('fixed_ips') or []),
            'on' if port.get('port_security_enabled') else 'OFF', _joined(sorted(groups)),
            _joined([pair['ip_address'] for pair in port.get('allowed_address_pairs') or []]),
            _joined(port.get('floating_ips') or []), _joined(codes)))
    return lines


def _backend_text(verify):
    """'ovn', or 'unknown (ovs or iptables_hybrid)' when the detection left candidates."""
    backend = verify.get('backend', '?')
    candidates = (verify.get('backend_detection') or {}).get('candidates') or []
    if backend == 'unknown' and candidates:
        return 'unknown (%s; each held to its own expectations)' % ' or '.join(candidates)
    return backend


def verdict_table(states, title='', prefix=''):
    lines = []
    if title:
        lines.append('=== ' + title + (' (prefix %s)' % prefix if prefix else ''))
    if states:
        first = states[0]['verify']
        row = first['rows'][0] if first.get('rows') else {}
        lines.append('A -> B: %s -> %s (%s -> %s), backend %s' % (
            row.get('source_ip', '?'), row.get('destination_ip', '?'), first.get('source_port', '?'),
            first.get('destination_port', '?'), _backend_text(first)))
    for state in states:
        lines.append('')
        lines.extend(_heading(state))
        lines.extend(_flow_lines(state['verify']))
        if state.get('ports') is not None:
            lines.extend(_port_lines(state['ports'], prefix))
    lines.append(LEGEND)
    return lines


class FilterModule(object):
    def filters(self):
        return {'verdict_table': verdict_table}
