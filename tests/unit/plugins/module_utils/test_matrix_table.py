# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The model against the dataplane matrix's expected table, without a cloud.

The table (tests/integration/targets/dataplane_matrix/vars/main.yml) is written from the
rules of docs/concepts.md (R1-R9), never from the model. Here every state of the matrix
(defaults/main.yml) is built as the plain dicts Neutron returns - the groups of the
matrix's setup.yml, with the default egress rules every new group gets - and every flow
is evaluated: verdict, blocking stage and code must be the table's. The integration
target asserts the same against the real Neutron, and the packets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.portsec.openstack.plugins.module_utils import reachability as model

TARGET = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                      'integration', 'targets', 'dataplane_matrix')


def load(name):
    with open(os.path.join(TARGET, name)) as handle:
        return yaml.safe_load(handle)


DEFAULTS = load('defaults/main.yml')
TABLE = load('vars/main.yml')['mx_expected']
NET = 'net-matrix'
MACS = {'a': 'fa:16:3e:00:77:0a', 'b': 'fa:16:3e:00:77:0b', 'c': 'fa:16:3e:00:77:0c'}


def rule(rule_id, direction, protocol, ethertype, low=None, high=None, prefix=None, remote_group=None):
    return {'id': rule_id, 'direction': direction, 'ethertype': ethertype, 'protocol': protocol,
            'port_range_min': low, 'port_range_max': high, 'remote_ip_prefix': prefix,
            'remote_group_id': remote_group, 'remote_address_group_id': None}


def groups():
    """The matrix's groups as tasks/setup.yml creates them."""
    ingress = {
        'mx-src': [], 'mx-sl-src': [],
        'mx-db': [('tcp', 'IPv4'), ('icmp', 'IPv4'), ('tcp', 'IPv6'), ('ipv6-icmp', 'IPv6')],
        'mx-db5432': [('tcp', 'IPv4')],
        'mx-remote': [('tcp', 'IPv4'), ('icmp', 'IPv4')],
        'mx-sl-db': [('tcp', 'IPv4'), ('icmp', 'IPv4')],
    }
    out = []
    for name, rules in ingress.items():
        items = [rule(name + '-eg4', 'egress', None, 'IPv4'), rule(name + '-eg6', 'egress', None, 'IPv6')]
        for index, (protocol, ethertype) in enumerate(rules):
            port = 5432 if protocol == 'tcp' else None
            remote = 'mx-src' if name == 'mx-remote' else None
            prefix = None if remote else ('::/0' if ethertype == 'IPv6' else '0.0.0.0/0')
            items.append(rule('%s-in%d' % (name, index), 'ingress', protocol, ethertype, port, port, prefix, remote))
        out.append({'id': name, 'name': name, 'stateful': not name.startswith('mx-sl-'),
                    'security_group_rules': items})
    return out


def ports(state):
    """A, B (the state's sides) and C (port security off) on one network, v4 and v6."""
    out = []
    for side in ('a', 'b', 'c'):
        spec = state.get(side, {'ps': False})
        enabled = spec['ps']
        out.append({
            'id': 'mx-' + side, 'name': 'mx-' + side, 'network_id': NET, 'mac_address': MACS[side],
            'fixed_ips': [{'ip_address': DEFAULTS['mx_fixed'][side], 'subnet_id': 'v4'},
                          {'ip_address': DEFAULTS['mx_fixed6'][side], 'subnet_id': 'v6'}],
            'port_security_enabled': enabled,
            'security_groups': list(spec.get('groups', [])) if enabled else [],
            'allowed_address_pairs': [{'ip_address': p} for p in spec.get('pairs', [])] if enabled else [],
        })
    return out


def flows(state):
    six = state.get('family', 4) == 6
    sec = DEFAULTS['mx_secondary6' if six else 'mx_secondary']
    fixed = DEFAULTS['mx_fixed6' if six else 'mx_fixed']
    control = state.get('control', {'src': 'a', 'dst': 'b'})
    out = [(name, {'source_port': 'mx-a', 'destination_port': 'mx-b', 'protocol': protocol, 'port': port,
                   'source_ip': sec['a'], 'destination_ip': sec['b']})
           for name, protocol, port in (('icmp', 'icmp', None), ('tcp/5432', 'tcp', 5432), ('tcp/5433', 'tcp', 5433))]
    out.append(('control', {'source_port': 'mx-' + control['src'], 'destination_port': 'mx-' + control['dst'],
                            'protocol': 'tcp', 'port': 5432, 'source_ip': fixed[control['src']],
                            'destination_ip': fixed[control['dst']]}))
    return out


CASES = [(backend, state, name, flow) for backend in sorted(TABLE)
         for state in DEFAULTS['mx_scenarios'] for name, flow in flows(state)]


def test_the_table_has_every_state_and_flow():
    for backend, rows in TABLE.items():
        assert sorted(rows) == sorted(s['name'] for s in DEFAULTS['mx_scenarios']), backend
        for state, row in rows.items():
            assert sorted(row) == ['control', 'icmp', 'tcp/5432', 'tcp/5433'], (backend, state)
            for flow, want in row.items():
                assert want['verdict'] in ('allowed', 'blocked'), (backend, state, flow)
                assert want['rules'], (backend, state, flow)
                assert ('stage' in want and 'code' in want) == (want['verdict'] == 'blocked'), (backend, state, flow)


def test_every_rule_cited_is_in_concepts():
    concepts = open(os.path.join(TARGET, '..', '..', '..', '..', 'docs', 'concepts.md')).read()
    cited = set(r for rows in TABLE.values() for row in rows.values() for want in row.values() for r in want['rules'])
    missing = [r for r in sorted(cited) if '\n### %s. ' % r not in concepts]
    assert not missing, missing


@pytest.mark.parametrize('backend, state, name, flow', CASES,
                         ids=['%s: %s: %s' % (c[0], c[1]['name'], c[2]) for c in CASES])
def test_model_equals_table(backend, state, name, flow):
    want = TABLE[backend][state['name']][name]
    result = model.evaluate(flow, ports(state), groups(), backend=backend)
    got = {'verdict': result['verdict']}
    if result['blocked_by']:
        got.update(stage=result['blocked_by']['stage'], code=result['blocked_by']['code'])
    assert got == dict((k, v) for k, v in want.items() if k != 'rules')
