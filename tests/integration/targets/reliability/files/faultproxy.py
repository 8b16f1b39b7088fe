#!/usr/bin/env python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting proxy in front of Neutron, steered by the test over HTTP.

Runs tests/tools/apiproxy.py until told to stop (or until --lifetime passes, so
it never outlives the test). Tasks point their cloud at it with
network_endpoint_override and set faults with GET requests on the control URL:

    /__fault__/add?method=PUT&path=/ports/ID&phase=before&action=status&status=503&times=1
    /__fault__/add?...&phase=after&action=reset            (Neutron applied it, the client sees nothing)
    /__fault__/add?...&phase=after&action=delay&seconds=8  (Neutron applied it, the answer comes late)
    /__fault__/hide?alias=port-security                    (as if Neutron lacked the extension)
    /__fault__/clear                                       (no faults, counters reset)
    /__fault__/log                                         (requests seen: method, path, status)
    /__fault__/stop

Writes {"url": ..., "control": ...} to --url-file once it listens. The cloud (to find
Neutron in the catalog) comes from a JSON file, so no password shows in the process list.
"""

import argparse
import json
import os
import sys
import threading
import urllib.parse

import openstack


def _tools_dir():
    # tests/tools of the collection: ansible-test runs a copy of the target from deep inside
    # tests/output, so look upwards for it instead of counting levels.
    here = os.path.dirname(os.path.abspath(__file__))
    while here != os.path.dirname(here):
        candidate = os.path.join(here, 'tests', 'tools')
        if os.path.isfile(os.path.join(candidate, 'apiproxy.py')):
            return candidate
        here = os.path.dirname(here)
    raise SystemExit('tests/tools/apiproxy.py not found above ' + __file__)


sys.path.insert(0, _tools_dir())
from apiproxy import ApiProxy  # noqa: E402  pylint: disable=wrong-import-position

CONTROL = '/__fault__/'

# The field each hidden extension adds to ports (and networks).
EXTENSION_FIELDS = {
    'port-security': 'port_security_enabled',
    'allowed-address-pairs': 'allowed_address_pairs',
}

INJECTED_503 = {'NeutronError': {'type': 'HTTPServiceUnavailable', 'detail': '',
                                 'message': 'Service unavailable (injected by the test proxy).'}}


class Fault:
    """One injected fault on requests whose path ends with `path` (query ignored)."""

    def __init__(self, method, path, phase, action, times, status=503, seconds=0.0):
        self.method = method
        self.path = path.rstrip('/')
        self.phase = phase
        self.action = action
        self.times = times
        self.status = status
        self.seconds = seconds
        self.fired = 0
        self.lock = threading.Lock()

    def __call__(self, method, path, phase, status):
        if phase != self.phase or method != self.method:
            return None
        if not path.split('?')[0].rstrip('/').endswith(self.path):
            return None
        # "after" faults model an answer lost after Neutron applied the request.
        if phase == 'after' and not 200 <= status < 300:
            return None
        with self.lock:
            if 0 <= self.times <= self.fired:
                return None
            self.fired += 1
        if self.action == 'status':
            return ('status', self.status, INJECTED_503 if self.status == 503 else {})
        if self.action == 'reset':
            return ('reset',)
        return ('delay', self.seconds)


class Controller:
    def __init__(self):
        self.faults = []
        self.hidden = set()
        self.stopped = threading.Event()
        self.proxy = None

    # hooks: the control endpoint first, then the faults in order
    def hook(self, method, path, phase, status):
        if path.startswith(CONTROL):
            if phase != 'before':
                return None
            return ('status', 200, self.control(path))
        for fault in list(self.faults):
            action = fault(method, path, phase, status)
            if action:
                return action
        return None

    def control(self, path):
        parsed = urllib.parse.urlsplit(path)
        command = parsed.path[len(CONTROL):].strip('/')
        query = dict(urllib.parse.parse_qsl(parsed.query))
        # The answer shows what happened before this command (so "clear" returns the log it clears).
        report = {
            'faults': [{'method': f.method, 'path': f.path, 'phase': f.phase, 'action': f.action,
                        'fired': f.fired} for f in self.faults],
            'hidden': sorted(self.hidden),
            'requests': [{'method': m, 'path': p, 'status': s}
                         for m, p, s in list(self.proxy.requests) if not p.startswith(CONTROL)],
        }
        if command == 'add':
            self.faults.append(Fault(
                query.get('method', 'PUT'), query['path'], query.get('phase', 'before'),
                query['action'], int(query.get('times', 1)), int(query.get('status', 503)),
                float(query.get('seconds', 0))))
        elif command == 'hide':
            self.hidden.add(query['alias'])
        elif command == 'clear':
            self.faults = []
            self.hidden = set()
            self.proxy.reset_counts()
        elif command == 'stop':
            self.stopped.set()
        elif command != 'log':
            report['error'] = 'unknown command %s' % command
        return report

    def rewrite(self, method, path, status, body):
        """Answer as a Neutron without the hidden extensions would."""
        if not self.hidden or not isinstance(body, dict):
            return None
        fields = [EXTENSION_FIELDS[alias] for alias in self.hidden if alias in EXTENSION_FIELDS]
        if 'extensions' in body:
            body['extensions'] = [ext for ext in body['extensions']
                                  if ext.get('alias') not in self.hidden]
        if isinstance(body.get('extension'), dict) and body['extension'].get('alias') in self.hidden:
            return {'NeutronError': {'type': 'ExtensionNotFound', 'detail': '',
                                     'message': 'Extension %s could not be found.'
                                     % body['extension']['alias']}}
        for key in ('port', 'network'):
            if isinstance(body.get(key), dict):
                for field in fields:
                    body[key].pop(field, None)
        for key in ('ports', 'networks'):
            for item in body.get(key) or []:
                for field in fields:
                    item.pop(field, None)
        return body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cloud-file', required=True, help='cloud config as JSON (to find Neutron)')
    parser.add_argument('--url-file', required=True)
    parser.add_argument('--lifetime', type=float, default=900)
    args = parser.parse_args()

    with open(args.cloud_file) as handle:
        upstream = openstack.connect(**json.load(handle)).network.get_endpoint()
    controller = Controller()
    proxy = ApiProxy(upstream, hooks=[controller.hook], rewriters=[controller.rewrite])
    controller.proxy = proxy
    proxy.start()
    control = 'http://127.0.0.1:%d%s' % (proxy.server.server_address[1], CONTROL)
    with open(args.url_file + '.tmp', 'w') as handle:
        json.dump({'url': proxy.url, 'control': control, 'pid': os.getpid()}, handle)
    os.rename(args.url_file + '.tmp', args.url_file)
    controller.stopped.wait(args.lifetime)
    proxy.stop()


if __name__ == '__main__':
    main()
