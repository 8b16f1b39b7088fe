#!/usr/bin/env python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxies in front of Neutron and Nova that record every request, to count a run's writes.

A test points a playbook's cloud at the proxies (network_endpoint_override and
compute_endpoint_override, as clouds.yaml allows) and asks afterwards what reached the services.
Each proxy answers GET requests on its control path instead of forwarding them:

    /__count__/log     the requests seen since the last clear: service, method, path, status
    /__count__/clear   the log, then an empty one
    /__count__/stop

Writes {"network": URL, "compute": URL, "control": URL} to --url-file once both listen. The
cloud (to find the services in the catalog) comes from a JSON file, so no password shows in the
process list. It stops by itself after --lifetime seconds.
"""

import argparse
import json
import os
import sys
import threading

import openstack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apiproxy import ApiProxy  # pylint: disable=wrong-import-position

CONTROL = '/__count__/'


class Counter:
    def __init__(self):
        self.proxies = {}
        self.stopped = threading.Event()

    def hook(self, method, path, phase, status):
        if not path.startswith(CONTROL) or phase != 'before':
            return None
        command = path[len(CONTROL):].split('?')[0].strip('/')
        report = {'requests': [{'service': service, 'method': m, 'path': p, 'status': s}
                               for service, proxy in sorted(self.proxies.items())
                               for m, p, s in list(proxy.requests) if not p.startswith(CONTROL)]}
        if command == 'clear':
            for proxy in self.proxies.values():
                proxy.reset_counts()
        elif command == 'stop':
            self.stopped.set()
        elif command != 'log':
            report['error'] = 'unknown command %s: use log, clear or stop' % command
        return ('status', 200, report)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cloud-file', required=True, help='cloud config as JSON (to find the services)')
    parser.add_argument('--url-file', required=True)
    parser.add_argument('--lifetime', type=float, default=1800)
    args = parser.parse_args()

    with open(args.cloud_file) as handle:
        conn = openstack.connect(**json.load(handle))
    counter = Counter()
    for service in ('network', 'compute'):
        proxy = ApiProxy(getattr(conn, service).get_endpoint(), hooks=[counter.hook])
        proxy.start()
        counter.proxies[service] = proxy
    urls = {service: proxy.url for service, proxy in counter.proxies.items()}
    urls['control'] = 'http://127.0.0.1:%d%s' % (counter.proxies['network'].server.server_address[1], CONTROL)
    urls['pid'] = os.getpid()
    with open(args.url_file + '.tmp', 'w') as handle:
        json.dump(urls, handle)
    os.rename(args.url_file + '.tmp', args.url_file)
    counter.stopped.wait(args.lifetime)
    for proxy in counter.proxies.values():
        proxy.stop()


if __name__ == '__main__':
    main()
