# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_probe_rows
short_description: Each probe's outcome next to its flow's verdict, and whether they agree
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Pairs the rows of P(portsec.openstack.verify_rows#filter) with the outputs of the probes
    sent for them, in the same order, as the P(portsec.openstack.verify#role) role publishes
    them in C(verify_result.probes).
  - A probe agrees when V(reached) goes with an V(allowed) verdict and V(silent) with a
    V(blocked) one. An V(unknown) verdict is shown, not compared (it agrees with any probe that
    ran). A probe that could not run (V(error)) never agrees.
  - Fails when there are not as many outputs as rows.
positional: outputs
options:
  _input:
    description: The rows (each with C(flow) and C(verdict)).
    type: list
    elements: dict
    required: true
  outputs:
    description: The standard output of each row's probe (see P(portsec.openstack.probe_outcome#filter)).
    type: list
    elements: str
    required: true
seealso:
  - plugin: portsec.openstack.probe_outcome
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Probe results next to the verdicts
  ansible.builtin.set_fact:
    probes: "{{ verify_result.rows | portsec.openstack.verify_probe_rows(probe_runs.results | map(attribute='stdout')) }}"
# [{flow: db, verdict: allowed, probe: reached, detail: PROBE=reached, agrees: true},
#  {flow: icmp, verdict: allowed, probe: silent, detail: PROBE=silent, agrees: false}]
"""

RETURN = r"""
_value:
  description: One item per row.
  type: list
  elements: dict
  contains:
    flow:
      description: The row's flow.
      type: str
    verdict:
      description: The row's verdict.
      type: str
    probe:
      description: V(reached), V(silent) or V(error).
      type: str
    detail:
      description: The probe's output, trimmed.
      type: str
    agrees:
      description: Whether the probe agrees with the verdict.
      type: bool
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.portsec.openstack.plugins.filter.probe_outcome import probe_outcome


def agrees(verdict, probe):
    if probe == 'error':
        return False
    return verdict == 'unknown' or (probe == 'reached') == (verdict == 'allowed')


def verify_probe_rows(rows, outputs):
    outputs = list(outputs)
    if len(outputs) != len(rows):
        raise AnsibleFilterError('verify_probe_rows: %d rows but %d probe outputs' % (len(rows), len(outputs)))
    result = []
    for row, output in zip(rows, outputs):
        probe = probe_outcome(output)
        result.append({'flow': row['flow'], 'verdict': row['verdict'], 'probe': probe,
                       'detail': (output or '').strip(), 'agrees': agrees(row['verdict'], probe)})
    return result


class FilterModule(object):
    def filters(self):
        return {'verify_probe_rows': verify_probe_rows}
