"""The compat stage of make test: every ansible-core the collection declares, each in its own venv.

One leg per tools/pins/core-2.N.in (ansible-core 2.N with an openstacksdk; the oldest leg has the
declared floors of both), plus .venv for the newest ansible-core. Each leg runs the unit tests and
that version's ``ansible-test sanity``: the full set on the oldest and the newest, ``compile``,
``import`` and ``validate-modules`` on the ones between. Each leg works in its own copy of the
build tree (ansible-test writes into tests/output), two legs at a time. The stage prints one line
per version.
"""

from __future__ import annotations

import concurrent.futures
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
TREE = BUILD / "ansible_collections" / "portsec" / "openstack"
PINS = ROOT / "tools" / "pins"
SUBSET = ["compile", "import", "validate-modules"]
sys.path.insert(0, str(ROOT / "tools"))
import venvs  # noqa: E402  pylint: disable=wrong-import-position


class Leg:
    """One ansible-core minor: its pins, its venv, the versions it holds."""

    def __init__(self, name: str):
        self.name = name
        text = (PINS / f"{name}.in").read_text()
        self.core = re.search(r"^ansible-core==(\S+)", text, re.M).group(1)
        self.sdk = re.search(r"^openstacksdk==(\S+)", text, re.M).group(1)

    @property
    def minor(self) -> tuple[int, int]:
        return tuple(int(n) for n in self.core.split(".")[:2])


def legs() -> list[Leg]:
    """The ansible-core legs, oldest first."""
    return sorted((Leg(n) for n in venvs.names() if n.startswith("core-")), key=lambda leg: leg.minor)


def site_packages(venv: pathlib.Path) -> pathlib.Path:
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return pathlib.Path(out)


def bundle_openstack_cloud(venv: pathlib.Path) -> None:
    """openstack.cloud for an older ansible-core, from where .venv has it: the copy in the `ansible`
    package (the ansible package itself requires the newest ansible-core, so it is not installed)."""
    source = site_packages(pathlib.Path(sys.prefix)) / "ansible_collections" / "openstack" / "cloud"
    dest = site_packages(venv) / "ansible_collections" / "openstack" / "cloud"
    manifest = "MANIFEST.json"
    if (dest / manifest).is_file() and (dest / manifest).read_bytes() == (source / manifest).read_bytes():
        return
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, symlinks=True)


def prepare(leg: Leg) -> pathlib.Path:
    """The leg's venv (built or reused) with openstack.cloud and ansible-test's offline pip."""
    venv = venvs.ensure(leg.name)
    bundle_openstack_cloud(venv)
    subprocess.run([str(venv / "bin" / "python"), str(ROOT / "tools" / "ansible_test_pip.py")],
                   capture_output=True, text=True, check=True)
    return venv


def leg_tree(name: str) -> pathlib.Path:
    """A copy of the build tree (with its .git, which ansible-test lists files with) for one leg."""
    base = BUILD / "compat" / name
    dest = base / "ansible_collections" / "portsec" / "openstack"
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rsync", "-a", "--delete", "--exclude=/tests/output/", f"{TREE}/", f"{dest}/"], check=True)
    return dest


def run(cmd: list[str], cwd: pathlib.Path, env: dict) -> tuple[int, str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def units(python: str, tree: pathlib.Path, env: dict) -> tuple[bool, str]:
    code, out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"], tree,
                    dict(env, PYTHONPATH=str(tree.parents[2])))
    found = re.findall(r"^=*\s*(\d+ passed.*?|.*failed.*?|.*error.*?)\s*=*$", out, re.M)
    summary = found[-1] if found else f"pytest exit {code}"
    return code == 0, f"units {re.sub(r' in [0-9.]+s', '', summary)}"


def sanity(ansible_test: str, tree: pathlib.Path, env: dict, full: bool) -> tuple[bool, str, str]:
    tests = [] if full else [arg for test in SUBSET for arg in ("--test", test)]
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    code, out = run([ansible_test, "sanity", "--venv", "--python", py, "--color", "no", *tests], tree, env)
    ran = len(re.findall(r'^Running sanity test "([^"]+)"', out, re.M))
    failed = re.search(r"The (\d+) sanity test\(s\) listed below \(out of (\d+)\) failed", out)
    ok = code == 0 and ran > 0 and not failed
    what = "full set" if full else ", ".join(SUBSET)
    verdict = f"{ran} passed" if ok else f"{failed.group(1) if failed else '?'} of {ran} FAILED (exit {code})"
    return ok, f"sanity ({what}) {verdict}", out


def run_leg(leg: Leg, venv: pathlib.Path, full: bool, env: dict) -> tuple[bool, str, str]:
    """Units and sanity of one leg: (ok, its line, the output of what failed)."""
    started = time.monotonic()
    tree = leg_tree(leg.name)
    leg_env = dict(env, PATH=f"{venv / 'bin'}:{env['PATH']}", VIRTUAL_ENV=str(venv))
    units_ok, units_line = units(str(venv / "bin" / "python"), tree, leg_env)
    sanity_ok, sanity_line, out = sanity(str(venv / "bin" / "ansible-test"), tree, leg_env, full)
    line = (f"ansible-core {leg.core:<8} openstacksdk {leg.sdk:<7} {leg.name + ' venv':<16} "
            f"{units_line}; {sanity_line} ({time.monotonic() - started:.0f}s)")
    return units_ok and sanity_ok, line, "" if sanity_ok else out


def stage(env: dict, workers: int = 2) -> tuple[bool, list[str], list[str]]:
    """Every leg: (all passed, one line per version oldest first, the failed legs' sanity output)."""
    all_legs = legs()
    if not all_legs:
        return False, ["no tools/pins/core-*.in: no ansible-core leg to test"], []
    prepared = [(leg, prepare(leg)) for leg in all_legs]  # one at a time: they share pip's caches
    oldest = all_legs[0]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_leg, leg, venv, leg is oldest, env) for leg, venv in prepared]
        outcomes = [future.result() for future in futures]
    lines = [outcome[1] for outcome in outcomes]
    return all(outcome[0] for outcome in outcomes), lines, [outcome[2] for outcome in outcomes if outcome[2]]
