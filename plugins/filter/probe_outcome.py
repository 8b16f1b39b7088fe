# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: probe_outcome
short_description: What a probe from a guest found - reached, silent or error
version_added: 0.1.0
author:
  - portsec.openstack contributors (@portsec-openstack)
description:
  - Reads the output of the probe that the P(portsec.openstack.verify#role) role runs inside
    VM A (a ping, or a TCP connect), which prints one line C(PROBE=reached) (the packet got
    through; a refused TCP connection counts, the guest answered), C(PROBE=silent) (no answer,
    dropped) or C(PROBE=error ...) (the probe could not run).
  - Returns the word after the first C(PROBE=); output without one (the command failed before
    printing it) is V(error).
options:
  _input:
    description: The probe's standard output.
    type: str
    required: true
seealso:
  - plugin: portsec.openstack.verify_probe_rows
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Did the control flow get through?
  ansible.builtin.debug:
    msg: "{{ control_run.stdout | portsec.openstack.probe_outcome }}"
# "PROBE=reached\n" -> reached; "PROBE=error ping: bind: Cannot assign requested address" -> error; "" -> error
"""

RETURN = r"""
_value:
  description: V(reached), V(silent) or V(error) (or another word the probe printed after C(PROBE=)).
  type: str
"""

import re

PROBE = re.compile(r'PROBE=(\w+)')


def probe_outcome(output):
    found = PROBE.search(output or '')
    return found.group(1) if found else 'error'


class FilterModule(object):
    def filters(self):
        return {'probe_outcome': probe_outcome}
