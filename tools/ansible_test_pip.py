"""Make ansible-test's pip bootstrap work offline.

ansible-test bootstraps pip into each virtualenv it creates by running a ``get-pip.py`` that it
downloads from an address this machine cannot reach, unless
``~/.ansible/test/cache/get_pip_<version>.py`` already exists. This writes that file: a small
stand-in that installs pip from a wheel kept next to it (fetched once with ``pip download`` from
the ordinary package index), with ``--no-index`` so nothing else is looked up.

Run it with the Python of the virtualenv whose ansible-test will run (each ansible-core version
asks for its own pip, and 2.16 and 2.17 also for setuptools and wheel); it reads those versions
from the installed ansible-test.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

CACHE = pathlib.Path.home() / ".ansible" / "test" / "cache"

STUB = '''\
"""Offline stand-in for get-pip.py {version}, written by portsec.openstack's tools/ansible_test_pip.py."""
import glob
import os
import runpy
import sys

here = os.path.dirname(os.path.abspath(__file__))
wheels = os.path.join(here, "pip-wheels-{version}")
wheel = glob.glob(os.path.join(wheels, "pip-{version}-*.whl"))[0]
sys.path.insert(0, wheel)  # pip runs from its own wheel, as get-pip.py does
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install", "--no-index", "--find-links", wheels] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
'''


def pip_versions() -> dict[str, list[str]]:
    """Every pip version this ansible-test may ask for (default and per-Python overrides), each
    with the setuptools and wheel it installs beside pip (ansible-core 2.16 and 2.17 name them;
    2.18 and later install pip alone)."""
    import ansible_test

    source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    text = source.read_text()
    found: dict[str, list[str]] = {}
    for match in re.finditer(r"\bpip=['\"]([0-9.]+)['\"]", text):
        beside = re.match(r"[^)]*", text[match.end():]).group(0)  # the rest of this version's call
        extras = [f"{name}=={version}" for name, version in re.findall(r"\b(setuptools|wheel)=['\"]([0-9.]+)['\"]", beside)]
        found.setdefault(match.group(1), []).extend(extras)
    if not found:
        sys.exit(f"ansible_test_pip: no pip version found in {source}")
    return found


def ensure(version: str, extras: list[str]) -> None:
    script = CACHE / f"get_pip_{version.replace('.', '_')}.py"
    wheels = CACHE / f"pip-wheels-{version}"
    wanted = [f"pip=={version}", *extras]
    have = {w.name.split("-")[0].lower() + "==" + w.name.split("-")[1] for w in wheels.glob("*.whl")}
    if script.exists() and not [w for w in wanted if w.lower() not in have]:
        print(f"ansible_test_pip: {script} already there")
        return
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary", ":all:", "-d", str(wheels), *wanted],
        check=True,
    )
    script.write_text(STUB.format(version=version))
    print(f"ansible_test_pip: wrote {script}")


def main() -> None:
    for version, extras in sorted(pip_versions().items()):
        ensure(version, extras)


if __name__ == "__main__":
    main()
