# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module shape of plugins/module_utils/README.md, run as a module: the example a newcomer
copies works, and the shared sequence (select, plan, write, read back, result, exit) with it.
The SDK boundary is faked: a Neutron that keeps one port and applies the PUTs it gets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, '..', '..', '..', '..', 'plugins', 'module_utils', 'README.md')
PORT_ID = '11111111-2222-3333-4444-555555555555'


class Answer:
    def __init__(self, status, body):
        self.status_code = status
        self.content = json.dumps(body).encode()
        self.text = self.content.decode()
        self.reason = ''
        self.body = body

    def json(self):
        return self.body


class OnePortNeutron:
    """GET and PUT of one port (revision precondition kept), and its project's groups.

    others: more ports, for bulk tasks (listed by ID). if_match: whether this Neutron offers the
    revision-if-match extension; one without it answers 400 to an If-Match, as Neutron does since
    Pike (neutron/api/api_common.py, ensure_if_match_supported).
    """

    def __init__(self, port, others=(), if_match=True):
        self.ports = dict((item['id'], item) for item in [port] + list(others))
        self.if_match = if_match
        self.calls = []

    @property
    def port(self):
        return self.ports[PORT_ID]

    def request(self, url, method, raise_exc=False, **kwargs):
        self.calls.append((method, url, kwargs.get('json'), kwargs.get('headers') or {}))
        port_id = url[len('/ports/'):] if url.startswith('/ports/') else None
        if port_id in self.ports and method == 'GET':
            return Answer(200, {'port': self.ports[port_id]})
        if port_id in self.ports and method == 'PUT':
            return self.update(port_id, kwargs.get('headers') or {}, kwargs['json']['port'])
        if url == '/ports' and method == 'GET':
            wanted = kwargs['params']['id']
            return Answer(200, {'ports': [item for item in self.ports.values() if item['id'] in wanted]})
        if url == '/extensions/revision-if-match' and method == 'GET':
            if self.if_match:
                return Answer(200, {'extension': {'alias': 'revision-if-match', 'name': 'If-Match constraints'}})
            return Answer(404, {'NeutronError': {'type': 'HTTPNotFound',
                                                 'message': 'Extension with alias revision-if-match does not exist'}})
        if url == '/security-groups' and method == 'GET':
            return Answer(200, {'security_groups': [{'id': 'g1', 'name': 'default', 'project_id': 'p1'}]})
        raise AssertionError('unexpected request %s %s' % (method, url))

    def update(self, port_id, headers, changes):
        current = self.ports[port_id]
        if 'If-Match' in headers and not self.if_match:
            return Answer(400, {'NeutronError': {'type': 'BadRequest', 'message': 'This server does not support'
                                                 ' constraining operations based on revision numbers'}})
        if 'If-Match' in headers and headers['If-Match'] != 'revision_number=%d' % current['revision_number']:
            return Answer(412, {'NeutronError': {'type': 'RevisionNumberConstraintFailed', 'message': 'x'}})
        self.ports[port_id] = dict(current, revision_number=current['revision_number'] + 1, **changes)
        return Answer(200, {'port': self.ports[port_id]})


class Conn:
    def __init__(self, port, others=(), if_match=True):
        self.network = OnePortNeutron(port, others, if_match)
        self.compute = None


def example_module():
    """The README's example, executed as the module file it would be."""
    with open(README) as handle:
        source = re.search(r'```python\n(.*?)```', handle.read(), re.S).group(1)
    namespace = {'__name__': 'readme_example'}
    exec(compile(source, README, 'exec'), namespace)
    return namespace['PortDescriptionModule']


def run(module_class, args, conn, capsys, monkeypatch, check_mode=False, diff=False):
    """Build the module with these args, give it the fake connection, run it; its JSON."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))
    if hasattr(basic, '_ANSIBLE_PROFILE'):
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
    monkeypatch.setattr(time, 'sleep', lambda _seconds: None)  # the read-back's settle pause
    module = module_class()
    module._conn = conn
    with pytest.raises(SystemExit):
        module()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def warned(monkeypatch):
    """Every warning the module emits (AnsibleModule.warn), in order; ansible-core keeps its own
    list for the whole process, so the tests look at the calls."""
    messages = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda _self, message: messages.append(message))
    return messages


def port(description=''):
    return {'id': PORT_ID, 'name': 'db', 'network_id': 'net', 'project_id': 'p1',
            'mac_address': 'fa:16:3e:00:00:01', 'description': description, 'security_groups': ['g1'],
            'port_security_enabled': True, 'allowed_address_pairs': [], 'fixed_ips': [],
            'revision_number': 4}


def test_the_example_changes_the_port_and_reads_it_back(capsys, monkeypatch, warned):
    conn = Conn(port())
    result = run(example_module(), {'port': PORT_ID, 'description': 'the database'}, conn, capsys, monkeypatch)
    assert conn.network.port['description'] == 'the database'
    assert [call[:2] for call in conn.network.calls] == [
        ('GET', '/ports/%s' % PORT_ID), ('GET', '/extensions/revision-if-match'),
        ('PUT', '/ports/%s' % PORT_ID), ('GET', '/ports/%s' % PORT_ID)]
    assert conn.network.calls[2][2:] == ({'port': {'description': 'the database'}}, {'If-Match': 'revision_number=4'})
    assert warned == []
    assert result['changed'] is True and result['previous'] == ''
    assert (result['attempts'], result['conflicts'], result['port']['revision_number']) == (1, 0, 5)


def test_the_example_run_twice_makes_no_write(capsys, monkeypatch):
    conn = Conn(port('the database'))
    result = run(example_module(), {'port': PORT_ID, 'description': 'the database'}, conn, capsys, monkeypatch)
    assert result['changed'] is False
    assert [call[0] for call in conn.network.calls] == ['GET']


def test_the_example_in_check_and_diff_mode_predicts_without_writing(capsys, monkeypatch):
    conn = Conn(port())
    result = run(example_module(), {'port': PORT_ID, 'description': 'the database'}, conn, capsys, monkeypatch,
                 check_mode=True, diff=True)
    assert result['changed'] is True and conn.network.port['description'] == ''
    assert [call[0] for call in conn.network.calls] == ['GET', 'GET']  # the port, then the group names
    assert result['diff']['before_header'] == 'db (%s)' % PORT_ID
    assert result['diff']['after']['security_groups'] == ['default']


def test_the_example_rejects_bad_input_before_any_request(capsys, monkeypatch):
    conn = Conn(port())
    result = run(example_module(), {'port': PORT_ID, 'description': 'x' * 256}, conn, capsys, monkeypatch)
    assert result['failed'] is True and 'description is 256 characters long' in result['msg']
    assert conn.network.calls == []


# -- Neutron extensions: asked once per task, only when a write needs it -------------------------

OTHER_IDS = ['22222222-2222-3333-4444-555555555555', '33333333-2222-3333-4444-555555555555']


def other_ports(description=''):
    return [dict(port(description), id=other_id, name='db-%d' % index) for index, other_id in enumerate(OTHER_IDS)]


def extension_requests(conn):
    return [call for call in conn.network.calls if call[1].startswith('/extensions')]


@pytest.mark.parametrize('if_match, sent', [(True, ['revision_number=4'] * 3), (False, [None] * 3)])
def test_a_bulk_change_asks_for_revision_if_match_once(if_match, sent, capsys, monkeypatch, warned):
    from ansible_collections.portsec.openstack.plugins.module_utils.neutron import IF_MATCH_MISSING
    conn = Conn(port(), other_ports(), if_match=if_match)
    result = run(example_module(), {'ports': [PORT_ID] + OTHER_IDS, 'description': 'the database', 'concurrency': 3},
                 conn, capsys, monkeypatch)
    assert [entry['changed'] for entry in result['results']] == [True, True, True]
    assert [item['description'] for item in conn.network.ports.values()] == ['the database'] * 3
    assert len(extension_requests(conn)) == 1
    assert [call[3].get('If-Match') for call in conn.network.calls if call[0] == 'PUT'] == sent
    # without the extension: one warning for the task, however many ports were written
    assert warned == ([] if if_match else [IF_MATCH_MISSING])


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_no_op_or_check_mode_never_asks_for_extensions(check_mode, capsys, monkeypatch, warned):
    # The request budget of a no-op (docs/performance.md) is kept: the port, nothing more.
    conn = Conn(port('the database' if not check_mode else ''), if_match=False)
    result = run(example_module(), {'port': PORT_ID, 'description': 'the database'}, conn, capsys, monkeypatch,
                 check_mode=check_mode)
    assert result['changed'] is check_mode
    assert [call[:2] for call in conn.network.calls] == [('GET', '/ports/%s' % PORT_ID)]
    assert warned == []


def module_class(name):
    """The module class of one of the collection's changing modules."""
    from importlib import import_module
    module = import_module('ansible_collections.portsec.openstack.plugins.modules.%s' % name)
    return getattr(module, {'port_security': 'PortSecurityModule', 'allowed_address_pair': 'AllowedAddressPairModule'}[name])


@pytest.mark.parametrize('name, args, field, alias, hint', [
    ('port_security', {'port_security_enabled': False}, 'port_security_enabled', 'port-security',
     'extension_drivers in the [ml2] section'),
    ('allowed_address_pair', {'pair': '10.10.10.11'}, 'allowed_address_pairs', 'allowed-address-pairs',
     'mechanism driver'),
])
def test_a_port_without_the_extension_field_fails_clearly_and_writes_nothing(name, args, field, alias, hint,
                                                                             capsys, monkeypatch):
    body = port()
    del body[field]
    conn = Conn(body)
    result = run(module_class(name), dict(args, port=PORT_ID), conn, capsys, monkeypatch)
    assert result['failed'] is True
    assert 'does not offer the %s extension' % alias in result['msg'] and hint in result['msg']
    assert 'nothing was changed' in result['msg'] and 'Ask the cloud operator to enable it' in result['msg']
    assert [call[:2] for call in conn.network.calls] == [('GET', '/ports/%s' % PORT_ID)]
    assert conn.network.port == body


def test_a_pair_on_a_neutron_without_port_security_is_added(capsys, monkeypatch):
    # Without the port-security extension Neutron filters every port: pairs are allowed.
    body = port()
    del body['port_security_enabled']
    conn = Conn(body)
    result = run(module_class('allowed_address_pair'), {'port': PORT_ID, 'pair': '10.10.10.11'},
                 conn, capsys, monkeypatch)
    assert result['changed'] is True, result.get('msg')
    assert conn.network.port['allowed_address_pairs'] == [{'ip_address': '10.10.10.11'}]


# -- one port shape: what every module returns is what RETURN documents --------------------------

def returned(module, key):
    """What RETURN says about `key` in a module of the collection."""
    import yaml
    from importlib import import_module
    source = import_module('ansible_collections.portsec.openstack.plugins.modules.%s' % module)
    return yaml.safe_load(source.RETURN)[key]


def documented(module, key):
    """The keys RETURN documents under `key` (contains)."""
    return set(returned(module, key)['contains'])


def test_every_module_documents_the_one_port_shape_it_returns():
    from ansible_collections.portsec.openstack.plugins.module_utils.views import port_view
    from ansible_collections.portsec.openstack.plugins.modules import port_security_info as info
    shape = set(port_view(port()))
    # documented once, in port_security; the others refer to it (and show a sample of it)
    assert documented('port_security', 'port') == shape
    assert set(returned('allowed_address_pair', 'port')['sample']) == shape
    assert 'port_security#module:port' in ' '.join(returned('allowed_address_pair', 'port')['description'])
    audit_keys = {'network_external', 'floating_ips', 'findings', 'worst_severity'}
    assert documented('port_security_info', 'ports') == audit_keys
    assert 'port_security#module:port' in ' '.join(returned('port_security_info', 'ports')['description'])
    entry = info.port_entry(port(), {'g1': {'id': 'g1', 'name': 'default'}}, {}, {}, [], {}, False)
    assert set(entry) == shape | audit_keys
    assert entry['security_groups'] == [{'id': 'g1', 'name': 'default', 'stateful': True}]
