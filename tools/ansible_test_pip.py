"""Make ansible-test's pip bootstrap work offline.

ansible-test bootstraps pip into each virtualenv it creates by running a ``get-pip.py`` that it
downloads from an address this machine cannot reach, unless
``~/.ansible/test/cache/get_pip_<version>.py`` already exists. This writes that file: a small
stand-in that installs pip from a wheel kept next to it (fetched once with ``pip download`` from
the ordinary package index), with ``--no-index`` so nothing else is looked up.

Run it with the control venv's Python; it reads the pip version from the installed ansible-test.
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


def pip_versions() -> set[str]:
    """Every pip version this ansible-test may ask for (default and per-Python overrides)."""
    import ansible_test

    source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    text = source.read_text()
    found = set(re.findall(r"\bpip=['\"]([0-9.]+)['\"]", text))
    if not found:
        sys.exit(f"ansible_test_pip: no pip version found in {source}")
    return found


def ensure(version: str) -> None:
    script = CACHE / f"get_pip_{version.replace('.', '_')}.py"
    wheels = CACHE / f"pip-wheels-{version}"
    if script.exists() and list(wheels.glob(f"pip-{version}-*.whl")):
        print(f"ansible_test_pip: {script} already there")
        return
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary", ":all:", "-d", str(wheels), f"pip=={version}"],
        check=True,
    )
    script.write_text(STUB.format(version=version))
    print(f"ansible_test_pip: wrote {script}")


def main() -> None:
    for version in sorted(pip_versions()):
        ensure(version)


if __name__ == "__main__":
    main()
