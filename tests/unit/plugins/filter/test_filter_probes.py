# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""probe_outcome and verify_probe_rows: what a probe found, and whether it agrees with the verdict."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.portsec.openstack.plugins.filter.probe_outcome import probe_outcome
from ansible_collections.portsec.openstack.plugins.filter.verify_probe_rows import verify_probe_rows


@pytest.mark.parametrize('output, outcome', [
    ('PROBE=reached\n', 'reached'),
    ('PROBE=silent', 'silent'),
    ('PROBE=error ping: bind: Cannot assign requested address\n', 'error'),
    ('some noise\nPROBE=reached\nPROBE=silent\n', 'reached'),
    ('', 'error'),
    (None, 'error'),
    ('sh: 1: Syntax error', 'error'),
])
def test_probe_outcome(output, outcome):
    assert probe_outcome(output) == outcome


@pytest.mark.parametrize('verdict, output, agrees', [
    ('allowed', 'PROBE=reached', True),
    ('allowed', 'PROBE=silent', False),
    ('blocked', 'PROBE=silent', True),
    ('blocked', 'PROBE=reached', False),
    # an unknown verdict is shown, not compared, when the probe ran
    ('unknown', 'PROBE=reached', True),
    ('unknown', 'PROBE=silent', True),
    # a probe that could not run never agrees
    ('allowed', 'PROBE=error nc: invalid option', False),
    ('blocked', '', False),
    ('unknown', 'PROBE=error', False),
])
def test_verify_probe_rows_agreement(verdict, output, agrees):
    assert verify_probe_rows([{'flow': 'db', 'verdict': verdict}], [output])[0]['agrees'] is agrees


def test_verify_probe_rows_in_order_with_the_trimmed_output():
    rows = [{'flow': 'db', 'verdict': 'allowed', 'port': 5432}, {'flow': 'icmp', 'verdict': 'blocked', 'port': None}]
    assert verify_probe_rows(rows, ['  PROBE=reached\n', 'PROBE=reached\n']) == [
        {'flow': 'db', 'verdict': 'allowed', 'probe': 'reached', 'detail': 'PROBE=reached', 'agrees': True},
        {'flow': 'icmp', 'verdict': 'blocked', 'probe': 'reached', 'detail': 'PROBE=reached', 'agrees': False},
    ]


@pytest.mark.parametrize('outputs, message', [
    ([], 'verify_probe_rows: 1 rows but 0 probe outputs'),
    (['PROBE=reached', 'PROBE=reached'], 'verify_probe_rows: 1 rows but 2 probe outputs'),
])
def test_verify_probe_rows_one_output_per_row(outputs, message):
    with pytest.raises(AnsibleFilterError) as error:
        verify_probe_rows([{'flow': 'db', 'verdict': 'allowed'}], outputs)
    assert str(error.value) == message
