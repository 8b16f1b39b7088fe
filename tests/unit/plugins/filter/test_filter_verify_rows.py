# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""verify_rows and verify_mismatches: reachability's answers next to the expected verdicts."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.portsec.openstack.plugins.filter.verify_mismatches import verify_mismatches
from ansible_collections.portsec.openstack.plugins.filter.verify_rows import verify_rows

SRC, DST = 'shop-a', 'shop-b'


def answer(name, protocol, port, verdict, reply='pass', reply_code='REPLY_OK', blocked_by=None,
           summary='', suggestions=(), backend='ovn', backends=None):
    flow = {'protocol': protocol, 'source_ip': '10.10.10.11', 'destination_ip': '10.10.10.12'}
    if port is not None:
        flow['port'] = port
    return {'name': name, 'verdict': verdict, 'flow': flow, 'blocked_by': blocked_by, 'summary': summary,
            'backend': backend, 'backends': backends or {backend: {'verdict': verdict, 'blocked_by': blocked_by,
                                                                   'reply': reply, 'summary': summary}},
            'suggestions': [{'text': text, 'task': {}} for text in suggestions],
            'checks': [{'stage': 'source_anti_spoofing', 'result': 'pass', 'code': 'SRC_IP_FIXED'},
                       {'stage': 'reply_path', 'result': reply, 'code': reply_code}]}


ANTI_SPOOFING = {'stage': 'source_anti_spoofing', 'port': {'id': 'id-a', 'name': 'shop-a'},
                 'element': 'address 10.10.10.11', 'code': 'SRC_IP_NOT_AUTHORISED'}
INGRESS_BY_ID = {'stage': 'destination_ingress_groups', 'port': {'id': 'id-b', 'name': None},
                 'element': 'groups shop-db', 'code': 'INGRESS_NO_MATCHING_RULE'}

ALLOWED = {'verdict': 'allowed', 'stage': '', 'side': '', 'reply': 'pass'}
AT_A = {'verdict': 'blocked', 'stage': 'source_anti_spoofing', 'side': 'a', 'reply': 'fail'}
AT_B = {'verdict': 'blocked', 'stage': 'destination_ingress_groups', 'side': 'b', 'reply': 'pass'}

ROW_DB_ALLOWED = {
    'flow': 'db', 'protocol': 'tcp', 'port': 5432, 'source_ip': '10.10.10.11', 'destination_ip': '10.10.10.12',
    'backend': 'ovn', 'verdict': 'allowed', 'blocked_stage': '', 'blocked_port': '', 'blocked_element': '', 'blocked_code': '',
    'reply': 'pass', 'reply_code': 'REPLY_OK', 'summary': 'allowed', 'suggestion': '',
    'expected': {'verdict': 'allowed', 'blocked_stage': '', 'blocked_port': '', 'reply': 'pass'}}
ROW_ICMP_AT_A = {
    'flow': 'icmp', 'protocol': 'icmp', 'port': None, 'source_ip': '10.10.10.11', 'destination_ip': '10.10.10.12',
    'backend': 'ovn', 'verdict': 'blocked', 'blocked_stage': 'source_anti_spoofing', 'blocked_port': 'shop-a',
    'blocked_element': 'address 10.10.10.11', 'blocked_code': 'SRC_IP_NOT_AUTHORISED',
    'reply': 'fail', 'reply_code': 'REPLY_DST_IP_NOT_AUTHORISED', 'summary': 'blocked at A',
    'suggestion': 'Add allowed address pair 10.10.10.11 to port shop-a.',
    'expected': {'verdict': 'blocked', 'blocked_stage': 'source_anti_spoofing', 'blocked_port': 'shop-a', 'reply': 'fail'}}


@pytest.mark.parametrize('answers, expected, rows', [
    # allowed as expected: nothing blocks, no expected port
    ([answer('db', 'tcp', 5432, 'allowed', summary='allowed')], {'db': ALLOWED}, [ROW_DB_ALLOWED]),
    # blocked at A as expected: side a is the source port's name; the first suggestion; no port for icmp
    ([answer('icmp', 'icmp', None, 'blocked', reply='fail', reply_code='REPLY_DST_IP_NOT_AUTHORISED',
             blocked_by=ANTI_SPOOFING, summary='blocked at A',
             suggestions=['Add allowed address pair 10.10.10.11 to port shop-a.', 'Or disable port security.'])],
     {'icmp': AT_A}, [ROW_ICMP_AT_A]),
    # a port without a name is named by its ID; side b is the destination port
    ([answer('ssh', 'tcp', 22, 'blocked', blocked_by=INGRESS_BY_ID)], {'ssh': AT_B},
     [{'flow': 'ssh', 'protocol': 'tcp', 'port': 22, 'source_ip': '10.10.10.11', 'destination_ip': '10.10.10.12',
       'backend': 'ovn', 'verdict': 'blocked', 'blocked_stage': 'destination_ingress_groups', 'blocked_port': 'id-b',
       'blocked_element': 'groups shop-db', 'blocked_code': 'INGRESS_NO_MATCHING_RULE',
       'reply': 'pass', 'reply_code': 'REPLY_OK', 'summary': '', 'suggestion': '',
       'expected': {'verdict': 'blocked', 'blocked_stage': 'destination_ingress_groups', 'blocked_port': 'shop-b',
                    'reply': 'pass'}}]),
    # an expectation with only verdict and reply (a topology of one's own): no stage, no port
    ([answer('db', 'tcp', 5432, 'allowed', summary='allowed')], {'db': {'verdict': 'allowed', 'reply': 'pass'}},
     [ROW_DB_ALLOWED]),
    # the order of the answers; expectations of flows not asked are ignored
    ([answer('icmp', 'icmp', None, 'blocked', reply='fail', reply_code='REPLY_DST_IP_NOT_AUTHORISED',
             blocked_by=ANTI_SPOOFING, summary='blocked at A',
             suggestions=['Add allowed address pair 10.10.10.11 to port shop-a.']),
      answer('db', 'tcp', 5432, 'allowed', summary='allowed')],
     {'db': ALLOWED, 'icmp': AT_A, 'ssh': AT_B}, [ROW_ICMP_AT_A, ROW_DB_ALLOWED]),
    ([], {'db': ALLOWED}, []),
])
def test_verify_rows(answers, expected, rows):
    assert verify_rows(answers, expected, SRC, DST) == rows


@pytest.mark.parametrize('expected, message', [
    ({'db': ALLOWED}, 'verify_rows: no expectation for the flow icmp (expected holds db)'),
    ({}, 'verify_rows: no expectation for the flow icmp (expected holds none)'),
    ({'icmp': {'verdict': 'blocked', 'stage': 'source_anti_spoofing'}},
     "verify_rows: the expectation of the flow icmp has no reply: {'verdict': 'blocked', 'stage': 'source_anti_spoofing'}"),
    ({'icmp': {}}, 'verify_rows: the expectation of the flow icmp has no verdict or reply: {}'),
])
def test_verify_rows_names_the_flow_without_expectation(expected, message):
    with pytest.raises(AnsibleFilterError) as error:
        verify_rows([answer('icmp', 'icmp', None, 'allowed')], expected, SRC, DST)
    assert str(error.value) == message


def changed(row, **expected):
    return dict(row, expected=dict(row['expected'], **expected))


@pytest.mark.parametrize('rows, lines', [
    ([ROW_DB_ALLOWED, ROW_ICMP_AT_A], []),
    # the verdict differs: what was expected, what blocks it, the reply and its code
    ([changed(ROW_ICMP_AT_A, verdict='allowed', blocked_stage='', blocked_port='', reply='pass')],
     ['icmp (icmp 10.10.10.11 -> 10.10.10.12): expected allowed, reply pass; got blocked at source_anti_spoofing'
      ' on shop-a (address 10.10.10.11, SRC_IP_NOT_AUTHORISED), reply fail (REPLY_DST_IP_NOT_AUTHORISED)']),
    ([changed(ROW_DB_ALLOWED, verdict='blocked', blocked_stage='destination_ingress_groups', blocked_port='shop-b')],
     ['db (tcp/5432 10.10.10.11 -> 10.10.10.12): expected blocked at destination_ingress_groups on shop-b, reply pass;'
      ' got allowed, reply pass (REPLY_OK)']),
    # the same verdict, blocked on the other port
    ([changed(ROW_ICMP_AT_A, blocked_port='shop-b')],
     ['icmp (icmp 10.10.10.11 -> 10.10.10.12): expected blocked at source_anti_spoofing on shop-b, reply fail;'
      ' got blocked at source_anti_spoofing on shop-a (address 10.10.10.11, SRC_IP_NOT_AUTHORISED),'
      ' reply fail (REPLY_DST_IP_NOT_AUTHORISED)']),
    # the same verdict at another stage
    ([changed(ROW_ICMP_AT_A, blocked_stage='destination_ingress_groups')],
     ['icmp (icmp 10.10.10.11 -> 10.10.10.12): expected blocked at destination_ingress_groups on shop-a, reply fail;'
      ' got blocked at source_anti_spoofing on shop-a (address 10.10.10.11, SRC_IP_NOT_AUTHORISED),'
      ' reply fail (REPLY_DST_IP_NOT_AUTHORISED)']),
    # only the reply differs; only the rows that differ, in order
    ([ROW_ICMP_AT_A, changed(ROW_DB_ALLOWED, reply='fail')],
     ['db (tcp/5432 10.10.10.11 -> 10.10.10.12): expected allowed, reply fail; got allowed, reply pass (REPLY_OK)']),
    ([], []),
])
def test_verify_mismatches(rows, lines):
    assert verify_mismatches(rows) == lines


# Case 1 after the seed's step (B unfiltered), from the rules: A's anti-spoofing drops the
# request on every backend; B's reply to 10.10.10.11 is dropped by OVN's destination check on
# A and passes ML2/OVS, which does not filter what a port receives.
SEED_STEP = dict(AT_A, backends={'ovs': {'reply': 'pass'}, 'iptables_hybrid': {'reply': 'pass'}})


def ml2_ovs_answer(reply_ovs='pass', reply_hybrid='pass'):
    """A member on ML2/OVS: backend unknown between the two drivers; the verdicts agree."""
    per = {'ovs': {'verdict': 'blocked', 'blocked_by': ANTI_SPOOFING, 'reply': reply_ovs, 'summary': 'a'},
           'iptables_hybrid': {'verdict': 'blocked', 'blocked_by': ANTI_SPOOFING, 'reply': reply_hybrid,
                               'summary': 'b'}}
    return answer('db', 'tcp', 5432, 'blocked', reply='pass', blocked_by=ANTI_SPOOFING,
                  backend='unknown', backends=per)


@pytest.mark.parametrize('backend, reply', [('ovn', 'fail'), ('ovs', 'pass'), ('iptables_hybrid', 'pass')])
def test_verify_rows_hold_each_backend_to_its_own_expectation(backend, reply):
    got = answer('db', 'tcp', 5432, 'blocked', reply=reply, blocked_by=ANTI_SPOOFING, backend=backend)
    (row,) = verify_rows([got], {'db': SEED_STEP}, SRC, DST)
    assert row['expected'] == {'verdict': 'blocked', 'blocked_stage': 'source_anti_spoofing',
                               'blocked_port': 'shop-a', 'reply': reply}
    assert 'backends' not in row
    assert verify_mismatches([row]) == []


def test_verify_rows_with_an_unknown_backend_compare_every_candidate():
    (row,) = verify_rows([ml2_ovs_answer()], {'db': SEED_STEP}, SRC, DST)
    assert [(item['backend'], item['reply'], item['expected']['reply']) for item in row['backends']] == [
        ('ovs', 'pass', 'pass'), ('iptables_hybrid', 'pass', 'pass')]
    # Both candidates expect the same: that is the row's expectation.
    assert row['expected']['reply'] == 'pass'
    assert verify_mismatches([row]) == []


def test_verify_mismatches_name_the_backend_that_differs():
    (row,) = verify_rows([ml2_ovs_answer(reply_hybrid='fail')], {'db': SEED_STEP}, SRC, DST)
    assert verify_mismatches([row]) == [
        'db (tcp/5432 10.10.10.11 -> 10.10.10.12) on iptables_hybrid: expected blocked at source_anti_spoofing'
        ' on shop-a, reply pass; got blocked at source_anti_spoofing on shop-a, reply fail']
