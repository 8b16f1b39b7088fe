# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small HTTP proxy in front of one OpenStack API, for tests and benchmarks.

It forwards every request to the real service and records (method, path,
status). Optional hooks let a test hold requests (to force a race), answer
instead of the service (a 503), drop the connection before or after the
service handled the request, or delay the answer past a client timeout.

    proxy = ApiProxy('http://127.0.0.1:9696/v2.0/')
    proxy.start()            # proxy.url is the same path on the proxy
    ...
    proxy.stop()

A hook is called as hook(method, path, phase, status) with phase 'before'
(before forwarding; status None) or 'after' (after the service answered,
with its status). It returns None to go on, or one of:
    ('status', code, json_body)  answer this instead (only 'before')
    ('reset',)                   close the connection without an answer
    ('delay', seconds)           wait, then go on

A rewriter changes what the service answered before the client sees it. It is
called as rewriter(method, path, status, body) with the decoded JSON body (None
when the body is not JSON) and returns a new body to send, or None to keep it:

    proxy = ApiProxy(upstream, rewriters=[lambda m, p, s, body: None])
"""

import http.client
import http.server
import json
import socket
import socketserver
import threading
import time
import urllib.parse


class ApiProxy:
    def __init__(self, upstream, hooks=None, rewriters=None):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.hooks = list(hooks or [])
        self.rewriters = list(rewriters or [])
        self.requests = []
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self):
        return 'http://127.0.0.1:%d%s' % (self.server.server_address[1], self.upstream.path)

    def count(self, method=None, path_contains=None, status=None):
        with self.lock:
            return sum(1 for m, p, s in self.requests
                       if (method is None or m == method)
                       and (path_contains is None or path_contains in p)
                       and (status is None or s == status))

    def reset_counts(self):
        with self.lock:
            self.requests = []

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                return

            def _apply_hooks(self, phase, status=None):
                for hook in proxy.hooks:
                    action = hook(self.command, self.path, phase, status)
                    if not action:
                        continue
                    if action[0] == 'delay':
                        time.sleep(action[1])
                        continue
                    return action
                return None

            def _reset(self):
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
                except OSError:
                    pass
                self.close_connection = True
                self.connection.close()

            def _answer(self, status, headers, data):
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _rewrite(self, status, headers, data):
                if not proxy.rewriters or any(key.lower() == 'content-encoding' for key, _v in headers):
                    return data
                try:
                    body = json.loads(data) if data else None
                except ValueError:
                    body = None
                changed = False
                for rewriter in proxy.rewriters:
                    new_body = rewriter(self.command, self.path, status, body)
                    if new_body is not None:
                        body = new_body
                        changed = True
                return json.dumps(body).encode() if changed else data

            def _forward(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                action = self._apply_hooks('before')
                if action and action[0] == 'status':
                    data = json.dumps(action[2]).encode()
                    with proxy.lock:
                        proxy.requests.append((self.command, self.path, action[1]))
                    self._answer(action[1], [('Content-Type', 'application/json')], data)
                    return
                if action and action[0] == 'reset':
                    with proxy.lock:
                        proxy.requests.append((self.command, self.path, 'reset'))
                    self._reset()
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port,
                                                      timeout=300)
                # The client's Host header is kept: services build the links of
                # their version documents from it, so the SDK keeps using the proxy.
                headers = {key: value for key, value in self.headers.items()
                           if key.lower() != 'connection'}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                with proxy.lock:
                    proxy.requests.append((self.command, self.path, response.status))
                action = self._apply_hooks('after', response.status)
                if action and action[0] == 'reset':
                    self._reset()
                    return
                headers = response.getheaders()
                self._answer(response.status, headers, self._rewrite(response.status, headers, data))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class ReadBarrier:
    """A hook that holds the first `parties` matching requests until all arrived."""

    def __init__(self, parties, method, path_suffix, timeout=90):
        self.parties = parties
        self.method = method
        self.path_suffix = path_suffix
        self.timeout = timeout
        self.arrived = 0
        self.held = 0
        self.cond = threading.Condition()

    def __call__(self, method, path, phase, status=None):
        if phase != 'before' or method != self.method:
            return None
        if not path.split('?')[0].rstrip('/').endswith(self.path_suffix):
            return None
        with self.cond:
            if self.arrived >= self.parties:
                return None
            self.arrived += 1
            self.held += 1
            if self.arrived >= self.parties:
                self.cond.notify_all()
            else:
                self.cond.wait_for(lambda: self.arrived >= self.parties, self.timeout)
        return None
