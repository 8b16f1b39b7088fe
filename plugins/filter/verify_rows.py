# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_rows
short_description: One row per flow, the verdict of reachability next to the expected one
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Turns the RV(portsec.openstack.reachability#module:flows) answer of
    M(portsec.openstack.reachability) into the rows that the P(portsec.openstack.verify#role)
    role publishes in C(verify_result.rows), each with what was expected of the flow.
  - The expectation of a flow has C(verdict) (V(allowed), V(blocked) or V(unknown)),
    C(reply) (V(pass) or V(fail), the reply path), and for a blocked flow C(stage) (the first
    stage that drops it) and C(side) (V(a), the source port, or V(b), the destination port).
    C(side) becomes the name of that port in C(expected.blocked_port).
  - An expectation may hold C(backends), per backend the keys that differ there (for example
    C(reply) V(pass) under C(ovs)). Each answer is held to the expectation of the backend it was
    modelled for; when that backend is V(unknown), each backend still possible is held to its
    own, in C(backends) of the row.
  - Fails naming the flow when a flow has no expectation, or an expectation lacks C(verdict) or
    C(reply).
positional: expected, source_port, destination_port
options:
  _input:
    description: The C(flows) that M(portsec.openstack.reachability) returned, each with its C(name).
    type: list
    elements: dict
    required: true
  expected:
    description: The expectation of each flow, by flow name.
    type: dict
    required: true
  source_port:
    description: Name (or ID) of the source port, for C(side=a).
    type: str
    default: ""
  destination_port:
    description: Name (or ID) of the destination port, for C(side=b).
    type: str
    default: ""
seealso:
  - plugin: portsec.openstack.verify_mismatches
    plugin_type: filter
  - plugin: portsec.openstack.verdict_table
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Verdicts of the database flow and of ping
  portsec.openstack.reachability:
    source: {port: vm-a-port, ip_address: 10.10.10.11}
    destination: {port: vm-b-port, ip_address: 10.10.10.12}
    flows:
      - {name: db, protocol: tcp, port: 5432}
      - {name: icmp, protocol: icmp}
  register: verdicts

- name: The rows, against what the design says
  ansible.builtin.set_fact:
    rows: "{{ verdicts.flows | portsec.openstack.verify_rows(expected, 'vm-a-port', 'vm-b-port') }}"
  vars:
    expected:
      db: {verdict: allowed, reply: pass}
      icmp: {verdict: blocked, stage: destination_ingress_groups, side: b, reply: pass}
# rows[1]: {flow: icmp, protocol: icmp, port: null, source_ip: 10.10.10.11, destination_ip: 10.10.10.12,
#           verdict: blocked, blocked_stage: destination_ingress_groups, blocked_port: vm-b-port,
#           blocked_element: "", blocked_code: INGRESS_NO_MATCHING_RULE, reply: pass, reply_code: ...,
#           summary: ..., suggestion: ..., expected: {verdict: blocked, blocked_stage: destination_ingress_groups,
#           blocked_port: vm-b-port, reply: pass}}
"""

RETURN = r"""
_value:
  description: One row per flow, in the order of the flows.
  type: list
  elements: dict
  contains:
    flow:
      description: The flow's name.
      type: str
    protocol:
      description: Its protocol.
      type: str
    port:
      description: Its destination port, or null (icmp).
      type: int
    source_ip:
      description: The address it is sent from.
      type: str
    destination_ip:
      description: The address it is sent to.
      type: str
    verdict:
      description: The verdict of M(portsec.openstack.reachability).
      type: str
    blocked_stage:
      description: The stage that drops it, or empty.
      type: str
    blocked_port:
      description: Name (or ID) of the port at that stage, or empty.
      type: str
    blocked_element:
      description: The address, pair or rule that decided, or empty.
      type: str
    blocked_code:
      description: The check's code (for example C(SRC_IP_NOT_AUTHORISED)), or empty.
      type: str
    reply:
      description: The result of the reply path (pass, fail, skip, unknown).
      type: str
    reply_code:
      description: The reply path's code.
      type: str
    summary:
      description: The verdict in one line.
      type: str
    suggestion:
      description: The first suggested fix, or empty.
      type: str
    expected:
      description: What was expected - C(verdict), C(blocked_stage), C(blocked_port) (empty unless
        blocked), C(reply) - on the backend modelled.
      type: dict
    backend:
      description: The backend the answer was modelled for (V(unknown) when it could not be
        told).
      type: str
    backends:
      description: Only when RV(_value[].backend) is V(unknown) - one item per backend still
        possible, with C(backend), C(verdict), C(blocked_stage), C(blocked_port), C(reply),
        C(summary) and C(expected) (that backend's expectation).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError


def flow_text(row):
    """'db (tcp/5432 10.10.10.11 -> 10.10.10.12)'."""
    port = '/%s' % row['port'] if row.get('port') else ''
    return '%s (%s%s %s -> %s)' % (row['flow'], row['protocol'], port, row['source_ip'], row['destination_ip'])


def blocked_text(row):
    """'source_anti_spoofing on vm-a (address 10.10.10.11, SRC_IP_NOT_AUTHORISED)', or '' when nothing blocks."""
    if not row.get('blocked_stage'):
        return ''
    return '%s on %s (%s, %s)' % (row['blocked_stage'], row['blocked_port'], row['blocked_element'], row['blocked_code'])


def _expectation(name, expected):
    exp = expected.get(name)
    if not isinstance(exp, dict):
        raise AnsibleFilterError('verify_rows: no expectation for the flow %s (expected holds %s)'
                                 % (name, ', '.join(sorted(expected)) or 'none'))
    missing = [key for key in ('verdict', 'reply') if key not in exp]
    if missing:
        raise AnsibleFilterError('verify_rows: the expectation of the flow %s has no %s: %s' % (name, ' or '.join(missing), exp))
    return exp


def expectation_for(exp, backend):
    """The expectation on one backend: the flow's keys with its backends.<backend> over them."""
    found = {key: value for key, value in exp.items() if key != 'backends'}
    found.update((exp.get('backends') or {}).get(backend) or {})
    return found


def _expected(exp, side_ports):
    return {
        'verdict': exp['verdict'],
        'blocked_stage': exp.get('stage', ''),
        'blocked_port': side_ports.get(exp.get('side', ''), '') if exp['verdict'] == 'blocked' else '',
        'reply': exp['reply'],
    }


def _got(verdict, blocked_by, reply):
    by = blocked_by or {}
    by_port = by.get('port') or {}
    return {'verdict': verdict, 'blocked_stage': by.get('stage') or '',
            'blocked_port': by_port.get('name') or by_port.get('id') or '', 'reply': reply}


def verify_row(answer, exp, source_port='', destination_port=''):
    flow = answer['flow']
    by = answer.get('blocked_by') or {}
    reply = next((check for check in answer.get('checks', []) if check.get('stage') == 'reply_path'), {})
    suggestions = answer.get('suggestions') or [{}]
    side_ports = {'a': source_port, 'b': destination_port}
    backend = answer.get('backend') or ''
    row = {
        'flow': answer['name'],
        'protocol': flow['protocol'],
        'port': flow.get('port'),
        'source_ip': flow['source_ip'],
        'destination_ip': flow['destination_ip'],
        'backend': backend,
    }
    row.update(_got(answer['verdict'], by, reply.get('result', '')))
    row.update({
        'blocked_element': by.get('element') or '',
        'blocked_code': by.get('code') or '',
        'reply_code': reply.get('code', ''),
        'summary': answer.get('summary', ''),
        'suggestion': suggestions[0].get('text', ''),
        'expected': _expected(expectation_for(exp, backend), side_ports),
    })
    candidates = answer.get('backends') or {}
    if backend == 'unknown' and candidates:
        # Each backend still possible is held to its own expectation.
        row['backends'] = [dict(_got(item['verdict'], item.get('blocked_by'), item.get('reply', '')),
                                backend=name, summary=item.get('summary', ''),
                                expected=_expected(expectation_for(exp, name), side_ports))
                           for name, item in candidates.items()]
        wanted = [item['expected'] for item in row['backends']]
        if all(item == wanted[0] for item in wanted):
            row['expected'] = wanted[0]
    return row


def verify_rows(answers, expected, source_port='', destination_port=''):
    return [verify_row(answer, _expectation(answer['name'], expected), source_port, destination_port)
            for answer in answers]


class FilterModule(object):
    def filters(self):
        return {'verify_rows': verify_rows}
