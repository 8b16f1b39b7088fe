# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the local cloud installs: the Debian packages (apt-get, first use), the service venv
.state/venv with OpenStack from PyPI (again when requirements.txt or constraints.txt change),
and the Nova driver copied into that venv's nova/virt. Standard library only."""

import hashlib
import os
import shutil
import subprocess
import sys

from cloud_common import APT_PACKAGES, HERE, LIB, VENV, CloudError, run, say, vbin


def pg_bindir():
    base = '/usr/lib/postgresql'
    if os.path.isdir(base):
        for v in sorted(os.listdir(base), key=lambda x: int(x) if x.isdigit() else 0,
                        reverse=True):
            if os.path.exists(os.path.join(base, v, 'bin', 'initdb')):
                return os.path.join(base, v, 'bin')
    return None


DEBIAN_COMMANDS = ('ovsdb-server', 'ovs-vswitchd', 'ovn-northd', 'ovn-controller', 'ovn-nbctl', 'epmd', 'ping',
                   'iptables', 'ipset', 'conntrack', 'arping', 'ethtool')


def debian_ready():
    return (all(shutil.which(b) for b in DEBIAN_COMMANDS)
            and os.path.exists('/usr/lib/rabbitmq/bin/rabbitmq-server')
            and pg_bindir() is not None
            and os.path.exists('/usr/share/ovn/ovn-nb.ovsschema'))


def install_debian():
    if debian_ready():
        return
    say('installing Debian packages: %s' % ' '.join(APT_PACKAGES))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    run(['apt-get', 'update', '-q'], 'apt', env=env)
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends'] + APT_PACKAGES,
        'apt', env=env)
    if not debian_ready():
        raise CloudError('apt', 'packages installed but binaries are missing')


def venv_python():
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    for cand in ('/usr/bin/python3.11', 'python3.11'):
        path = shutil.which(cand)
        if path:
            return path
    raise CloudError('venv', 'Python 3.11 is needed for the cloud venv (python3.11 not found): '
                             'apt-get install python3 python3-venv, or run make, whose '
                             'tools/prereqs.sh installs them')


def file_hash(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def install_venv():
    stamp = os.path.join(VENV, '.portsec-installed')
    want = file_hash(os.path.join(HERE, 'requirements.txt'), os.path.join(HERE, 'constraints.txt'))
    try:
        with open(stamp) as f:
            if f.read().strip() == want:
                return
    except OSError:
        pass
    say('creating the service venv and installing OpenStack from PyPI (1-3 min)')
    if not os.path.exists(vbin('python')):
        run([venv_python(), '-m', 'venv', VENV], 'venv')
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1')
    run([vbin('python'), '-m', 'pip', 'install', '-q', '--upgrade', 'pip'], 'venv', env=env)
    run([vbin('python'), '-m', 'pip', 'install', '-q',
         '-c', os.path.join(HERE, 'constraints.txt'),
         '-r', os.path.join(HERE, 'requirements.txt')], 'venv', env=env, timeout=1500)
    with open(stamp, 'w') as f:
        f.write(want + '\n')
    say('venv ready')


def install_driver():
    """Nova loads compute drivers only from nova.virt: put ours there."""
    site = subprocess.run([vbin('python'), '-c', 'import nova.virt, os; '
                           'print(os.path.dirname(nova.virt.__file__))'],
                          capture_output=True, text=True, check=True).stdout.strip()
    for name in ('portsec_fake.py', 'portsec_guests.py'):
        shutil.copyfile(os.path.join(LIB, name), os.path.join(site, name))
