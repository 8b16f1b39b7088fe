# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""verdict_table: the demo's table of verdicts, probes and ports, line by line (docs/index.md shows one)."""

from __future__ import annotations

import pytest

from ansible_collections.portsec.openstack.plugins.filter.verdict_table import verdict_table

LEGEND = ('packets: real probes from VM A (pass = answered, DROPPED = no answer; ! = disagrees with the verdict);'
          ' control: a flow on the fixed IPs that the groups admit, probed first')
FLOW_HEADER = '    flow      verdict  packets  blocked at'
PORT_HEADER = '    port             fixed IPs      sec  groups             pairs            FIP           findings'


def row(flow, port, verdict, stage='', blocked_port='', element='', code='', summary=''):
    return {'flow': flow, 'protocol': 'icmp' if port is None else 'tcp', 'port': port,
            'source_ip': '10.10.10.11', 'destination_ip': '10.10.10.12', 'verdict': verdict,
            'blocked_stage': stage, 'blocked_port': blocked_port, 'blocked_element': element,
            'blocked_code': code, 'summary': summary}


def at_a(flow, port):
    return row(flow, port, 'blocked', 'source_anti_spoofing', 'demo-case1-a', 'address 10.10.10.11', 'SRC_IP_NOT_AUTHORISED')


def probes(*pairs):
    return [{'flow': flow, 'probe': probe, 'agrees': agrees} for flow, probe, agrees in pairs]


def verify(rows, probe_rows=(), mismatches=(), control=None, note='ran', title='Case 1, as built'):
    return {'title': title, 'source_port': 'demo-case1-a', 'destination_port': 'demo-case1-b', 'backend': 'ovn',
            'rows': rows, 'probes': list(probe_rows), 'mismatches': list(mismatches), 'control': control or {},
            'probes_note': note}


def port(name, ip, enabled, groups, pairs=(), fips=(), codes=()):
    return {'name': name, 'fixed_ips': [{'ip_address': ip, 'subnet_id': 's'}], 'port_security_enabled': enabled,
            'security_groups': [{'id': g, 'name': g} for g in groups],
            'allowed_address_pairs': [{'ip_address': p, 'mac_address': 'fa:16:3e:00:00:01'} for p in pairs],
            'floating_ips': list(fips), 'findings': [{'code': c, 'severity': 'high'} for c in codes]}


AS_BUILT = {
    'label': 'as built',
    'verify': verify([at_a('db', 5432), at_a('ssh', 22), at_a('icmp', None)],
                     probes(('db', 'silent', True), ('ssh', 'silent', True), ('icmp', 'silent', True))),
    'ports': [port('demo-case1-a', '192.168.1.11', True, ['demo-case1-ssh', 'demo-case1-http'], fips=['192.0.2.193'],
                   codes=['INGRESS_FROM_ANYWHERE_WITH_FIP', 'INGRESS_FROM_ANYWHERE_WITH_FIP']),
              port('demo-case1-b', '192.168.1.12', True, ['demo-case1-ssh', 'demo-case1-db'], fips=['192.0.2.185'],
                   codes=['INGRESS_FROM_ANYWHERE_WITH_FIP'])],
}
COMPLETED = {
    'label': 'completed on A (pair)',
    'verify': verify([row('db', 5432, 'allowed'), row('ssh', 22, 'allowed'), row('icmp', None, 'allowed')],
                     probes(('db', 'reached', True), ('ssh', 'reached', True), ('icmp', 'reached', True)),
                     control={'flow': 'ssh', 'summary': 'ssh (tcp/22 192.168.1.11 -> 192.168.1.12, demo-case1-a -> demo-case1-b):'
                                                        ' allowed by the groups, probe reached'}),
    'ports': [port('demo-case1-a', '192.168.1.11', True, ['demo-case1-ssh', 'demo-case1-http'], pairs=['10.10.10.11'],
                   fips=['192.0.2.193'], codes=['INGRESS_FROM_ANYWHERE_WITH_FIP']),
              port('demo-case1-b', '192.168.1.12', False, [], fips=['192.0.2.185'], codes=['PORT_SECURITY_OFF_EXPOSED'])],
}


def test_the_demo_table_of_case1():
    assert verdict_table([AS_BUILT, COMPLETED], 'Case 1 - single ports; the seed disables port security on B', 'demo-case1') == [
        '=== Case 1 - single ports; the seed disables port security on B (prefix demo-case1)',
        'A -> B: 10.10.10.11 -> 10.10.10.12 (demo-case1-a -> demo-case1-b), backend ovn',
        '',
        '[as built]  verdicts vs the table: as expected  | packets: 3/3 agree',
        FLOW_HEADER,
        '    db/5432   BLOCKED  DROPPED  source_anti_spoofing on demo-case1-a (address 10.10.10.11, SRC_IP_NOT_AUTHORISED)',
        '    ssh/22    BLOCKED  DROPPED  source_anti_spoofing on demo-case1-a (address 10.10.10.11, SRC_IP_NOT_AUTHORISED)',
        '    icmp      BLOCKED  DROPPED  source_anti_spoofing on demo-case1-a (address 10.10.10.11, SRC_IP_NOT_AUTHORISED)',
        PORT_HEADER,
        '    demo-case1-a     192.168.1.11   on   http,ssh           -                192.0.2.193   INGRESS_FROM_ANYWHERE_WITH_FIP',
        '    demo-case1-b     192.168.1.12   on   db,ssh             -                192.0.2.185   INGRESS_FROM_ANYWHERE_WITH_FIP',
        '',
        '[completed on A (pair)]  verdicts vs the table: as expected  | packets: 3/3 agree',
        '    control: ssh (tcp/22 192.168.1.11 -> 192.168.1.12, demo-case1-a -> demo-case1-b): allowed by the groups, probe reached',
        FLOW_HEADER,
        '    db/5432   allowed  pass     ',
        '    ssh/22    allowed  pass     ',
        '    icmp      allowed  pass     ',
        PORT_HEADER,
        '    demo-case1-a     192.168.1.11   on   http,ssh           10.10.10.11      192.0.2.193   INGRESS_FROM_ANYWHERE_WITH_FIP',
        '    demo-case1-b     192.168.1.12   OFF  -                  -                192.0.2.185   PORT_SECURITY_OFF_EXPOSED',
        LEGEND,
    ]


UNKNOWN = row('db', 5432, 'unknown', summary='depends on the guest')
INGRESS = row('icmp', None, 'blocked', 'destination_ingress_groups', 'shop-b', 'groups db', 'INGRESS_NO_MATCHING_RULE')


@pytest.mark.parametrize('state, lines', [
    # a verify_result alone: its title as the heading, no ports; probes skipped with their note
    ({'verify': verify([row('db', 5432, 'allowed')], note='skipped (verify_probes=false)', title='Case 2, done right')},
     ['[Case 2, done right]  verdicts vs the table: as expected  | packets: skipped (verify_probes=false)',
      FLOW_HEADER, '    db/5432   allowed  -        ']),
    # a mismatch; a disagreeing probe (!) and one that could not run; an unknown verdict shows its summary
    ({'label': 'now', 'verify': verify([UNKNOWN, INGRESS], probes(('db', 'error', False), ('icmp', 'reached', False)),
                                       mismatches=['icmp (...)'])},
     ['[now]  verdicts vs the table: MISMATCH  | packets: 0/2 agree',
      FLOW_HEADER,
      '    db/5432   unknown  error!   depends on the guest',
      '    icmp      BLOCKED  pass!    destination_ingress_groups on shop-b (groups db, INGRESS_NO_MATCHING_RULE)']),
    # no control flow in this state: its note's summary; one probe not run for a flow
    ({'label': 'x', 'verify': verify([row('db', 5432, 'allowed'), INGRESS], probes(('db', 'reached', True)),
                                     control={'note': 'no control flow in this state', 'summary': 'no control flow in this state: ...'})},
     ['[x]  verdicts vs the table: as expected  | packets: 1/1 agree',
      '    control: no control flow in this state: ...',
      FLOW_HEADER,
      '    db/5432   allowed  pass     ',
      '    icmp      BLOCKED  -        destination_ingress_groups on shop-b (groups db, INGRESS_NO_MATCHING_RULE)']),
    # ports without any group, pair, floating IP or finding; no prefix: group names kept whole
    ({'label': 'y', 'verify': verify([row('db', 5432, 'allowed')], note='ran'),
      'ports': [port('p1', '10.0.0.5', False, []), port('p2', '10.0.0.6', True, ['shop-web', 'default'])]},
     ['[y]  verdicts vs the table: as expected  | packets: ran',
      FLOW_HEADER, '    db/5432   allowed  -        ',
      PORT_HEADER,
      '    p1               10.0.0.5       OFF  -                  -                -             -',
      '    p2               10.0.0.6       on   default,shop-web   -                -             -']),
])
def test_one_state_without_title(state, lines):
    assert verdict_table([state]) == ['A -> B: 10.10.10.11 -> 10.10.10.12 (demo-case1-a -> demo-case1-b), backend ovn', ''] + lines + [LEGEND]


def test_no_state():
    assert verdict_table([], 'Nothing') == ['=== Nothing', LEGEND]


def test_verdict_table_names_the_candidates_of_an_unknown_backend():
    state = {'title': 'as built', 'verify': dict(verify([at_a('db', 22)]), backend='unknown',
                                                 backend_detection={'candidates': ['ovs', 'iptables_hybrid']})}
    assert verdict_table([state])[0].endswith(
        'backend unknown (ovs or iptables_hybrid; each held to its own expectations)')
