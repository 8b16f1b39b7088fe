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
    """GET and PUT of one port (revision precondition kept), and its project's groups."""

    def __init__(self, port):
        self.port = port
        self.calls = []

    def request(self, url, method, raise_exc=False, **kwargs):
        self.calls.append((method, url, kwargs.get('json')))
        if url == '/ports/%s' % PORT_ID and method == 'GET':
            return Answer(200, {'port': self.port})
        if url == '/ports/%s' % PORT_ID and method == 'PUT':
            wanted = 'revision_number=%d' % self.port['revision_number']
            if kwargs.get('headers', {}).get('If-Match') != wanted:
                return Answer(412, {'NeutronError': {'type': 'RevisionNumberConstraintFailed', 'message': 'x'}})
            self.port = dict(self.port, revision_number=self.port['revision_number'] + 1, **kwargs['json']['port'])
            return Answer(200, {'port': self.port})
        if url == '/security-groups' and method == 'GET':
            return Answer(200, {'security_groups': [{'id': 'g1', 'name': 'default', 'project_id': 'p1'}]})
        raise AssertionError('unexpected request %s %s' % (method, url))


class Conn:
    def __init__(self, port):
        self.network = OnePortNeutron(port)
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


def port(description=''):
    return {'id': PORT_ID, 'name': 'db', 'network_id': 'net', 'project_id': 'p1',
            'mac_address': 'fa:16:3e:00:00:01', 'description': description, 'security_groups': ['g1'],
            'port_security_enabled': True, 'allowed_address_pairs': [], 'fixed_ips': [],
            'revision_number': 4}


def test_the_example_changes_the_port_and_reads_it_back(capsys, monkeypatch):
    conn = Conn(port())
    result = run(example_module(), {'port': PORT_ID, 'description': 'the database'}, conn, capsys, monkeypatch)
    assert conn.network.port['description'] == 'the database'
    assert [call[:2] for call in conn.network.calls] == [
        ('GET', '/ports/%s' % PORT_ID), ('PUT', '/ports/%s' % PORT_ID), ('GET', '/ports/%s' % PORT_ID)]
    assert conn.network.calls[1][2] == {'port': {'description': 'the database'}}
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
