# Copyright: portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local cloud's processes: starting them detached (spawn), recording them in PID files
(.state/run/<name>.pid: PID, start time, log offset), telling whether they are ours and alive
(also an OVS/OVN daemon under its `--monitor`), counting its monitor's restarts, stopping them
(kill), and waiting for a process to be ready (wait_for). Standard library only."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from cloud_common import IP, MANAGED, MONITORED, STATE, CloudError, logfile, pidfile, unlink


def start_time(pid):
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, TypeError, IndexError):
        return None


def read_pidfile(name):
    try:
        with open(pidfile(name)) as f:
            parts = f.read().split()
        return int(parts[0]), (parts[1] if len(parts) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None, None


def read_pid(name):
    return read_pidfile(name)[0]


def ours(pid, name=None):
    """True if `pid` is alive and is the very process we started (same start time)."""
    if not pid:
        return False
    if name is None:
        for n in MANAGED:
            p, st = read_pidfile(n)
            if p == pid:
                name = n
                break
    p, st = read_pidfile(name) if name else (None, None)
    return p == pid and st is not None and st == start_time(pid) and running(pid)


def running(pid):
    """True if the process exists and is not a zombie (no ownership check)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, TypeError, IndexError):
        return False


def alive(name):
    """Our process runs; for an OVS/OVN daemon under `--monitor` (our PID is the monitor's),
    the daemon itself runs too, as the monitor's child (its own pidfile names it)."""
    pid = read_pid(name)
    if not ours(pid, name):
        return False
    if name not in MONITORED:
        return True
    child = daemon_pid(name)
    return bool(child) and running(child) and parent_pid(child) == pid


def parent_pid(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return int(f.read().rsplit(')', 1)[1].split()[1])
    except (OSError, TypeError, IndexError, ValueError):
        return None


def daemon_pid(name):
    """The PID in the daemon's own pidfile (OVS/OVN daemons write it themselves)."""
    try:
        with open(MONITORED[name]) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError, KeyError):
        return None


MONITOR_RESTART = re.compile(r'\|daemon_unix\(monitor\)\|\w+\|(\d+) crashes: pid \d+ died, .*, restarting$')


def restarts(name):
    """(count, last restart line) of a monitored daemon since we last started its monitor:
    the monitor logs '<N> crashes: pid <P> died, killed (Segmentation fault), ..., restarting'
    into the daemon's log, after the offset where spawn() started it (kept in its PID file)."""
    if name not in MONITORED:
        return 0, ''
    try:
        with open(pidfile(name)) as f:
            offset = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        offset = 0
    try:
        with open(logfile(name), 'rb') as f:
            f.seek(offset)
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return 0, ''
    lines = [ln for ln in text.splitlines() if MONITOR_RESTART.search(ln)]
    return len(lines), (lines[-1] if lines else '')


def restart_counts():
    return {name: restarts(name)[0] for name in MONITORED}


def kill_group(pgid, sig=signal.SIGKILL):
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def spawn(name, cmd, env=None, cwd=None):
    """Starts a daemon fully detached (own session, no inherited stdio); records its PID."""
    if alive(name):
        return read_pid(name)
    old = read_pid(name)
    if old and group_alive(old):
        # What is left of our last start, in the process group its leader made: a daemon whose
        # monitor died, gunicorn workers whose master died (they would keep the API's port).
        kill_group(old)
        time.sleep(0.3)
    full_env = dict(os.environ if env is None else env)
    full_env['PORTSEC_CLOUD_STATE'] = STATE
    with open(logfile(name), 'ab') as out:
        offset = out.tell()     # where this start's lines begin (restarts() reads from there)
        out.write(('\n==== %s start: %s\n' % (time.strftime('%F %T'), ' '.join(cmd))).encode())
        out.flush()
        proc = subprocess.Popen(cmd, env=full_env, cwd=cwd or STATE, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True)
    with open(pidfile(name), 'w') as f:
        f.write('%d %s %d\n' % (proc.pid, start_time(proc.pid), offset))
    return proc.pid


def kill(name, timeout=15):
    pid = read_pid(name)
    if not ours(pid):
        if pid and group_alive(pid):     # the leader died, its group did not (see spawn)
            kill_group(pid)
        unlink(pidfile(name))
        return False
    try:
        pgid = os.getpgid(pid)
    except OSError:
        pgid = None
    targets = [pgid] if pgid == pid else []   # our daemons lead their own process group

    def signal_all(sig):
        try:
            if targets:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except OSError:
            pass

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and ours(pid):
        time.sleep(0.2)
    if ours(pid) or (targets and group_alive(pid)):
        signal_all(signal.SIGKILL)
        time.sleep(0.3)
    unlink(pidfile(name))
    return True


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except OSError:
        return False


def port_open(port, host=IP):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:
        return e.code < 500
    except (OSError, ValueError):
        return False


def wait_for(service, check, timeout, what, log=None, watch=()):
    """Polls `check` until it holds. Fails at once when `service`, or one of the processes in
    `watch` that it needs, has exited (a process that died at its start never answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        for name in (service,) + tuple(watch):
            if name in MANAGED and not running(read_pid(name)):
                raise CloudError(name, '%s exited while waiting for: %s' % (name, what))
        time.sleep(0.5)
    raise CloudError(service, 'timed out after %ds waiting for: %s' % (timeout, what))
