"""Galaxy's checks of the built collection tarball: galaxy-importer and ansible-builder introspect.

    python tools/galaxy_checks.py PATH/TO/portsec-openstack-VERSION.tar.gz    exit 0 when clean, 1 if not

``run(tarball)`` is what the build stage of tools/test.py calls. Both tools come from the
``galaxy`` virtualenv (tools/pins/galaxy.txt, built by tools/venvs.py), and nothing is fetched:

* galaxy-importer, the import that Galaxy runs on publish (ansible-doc of every plugin, the
  role metadata, ansible-lint with the production profile; ansible-test is not run, it wants
  containers), must log no warning and no error, list the roles and modules the tarball holds,
  and give each role the description of its argument spec. Galaxy's importer lints with
  ``--offline`` and only the uploaded collection on ANSIBLE_COLLECTIONS_PATH, so the
  collections that galaxy.yml depends on are not installed for it: roles that use
  openstack.cloud (``module_defaults: group/openstack.cloud.openstack``, its modules) fail
  ansible-playbook's syntax check there with exit code 4. Here each dependency is found where
  it is installed (the copy bundled with the ``ansible`` package of .venv, or any collections
  path) and put on the importer's PYTHONPATH, from which ansible-core also loads collections.
* ``ansible-builder introspect --sanitize`` of the tarball installed alone must give exactly
  the Python and system requirements that the repository's meta/execution-environment.yml (or,
  without it, requirements.txt and bindep.txt) declares, and those must include the Python
  distribution of every third-party package the plugins import (openstacksdk for ``openstack``).
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

import yaml
# galaxy.yml's version ranges, read as ansible-galaxy reads them
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"

# The third-party packages that the plugins import, and the Python distribution that the
# requirements must declare for each (keystoneauth1 is a requirement of openstacksdk).
DISTRIBUTIONS = {"openstack": "openstacksdk", "keystoneauth1": "openstacksdk"}
# What the plugins may import without a Python requirement (besides the standard library).
PROVIDED = {"__future__", "ansible", "ansible_collections"}

IMPORTER_CONFIG = """\
[galaxy-importer]
# What Galaxy checks on import, minus ansible-test (it runs in a container).
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
run_ansible_test = False
ansible_test_local_image = False
local_image_docker = False
run_flake8 = False
log_level_main = INFO
"""

LOG_LINE = re.compile(r"^(WARNING|ERROR|CRITICAL): ")


def _env(venv: pathlib.Path, **extra: str) -> dict[str, str]:
    """The environment of the tools: the galaxy virtualenv first on PATH, no Ansible or importer
    settings of the caller (ANSIBLE_*, GALAXY_IMPORTER_*, PYTHONPATH), no colours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "GALAXY_IMPORTER_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update({"ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"})
    env.update(extra)
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: pathlib.Path, what: str) -> str:
    """Run a command, return its output (stdout and stderr); RuntimeError naming WHAT if it fails."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        print(out)
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}")
    return out


class _Tarball:
    """The files of the collection tarball that the checks derive their expectations from."""

    def __init__(self, path: pathlib.Path):
        with tarfile.open(path) as tar:
            self.names = set(tar.getnames())
            self._texts = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()
                           if m.isfile() and (m.name == "MANIFEST.json" or m.name.endswith((".yml", ".yaml", ".py")))}
        info = json.loads(self._texts["MANIFEST.json"])["collection_info"]
        self.fqcn = f"{info['namespace']}.{info['name']}"
        self.dependencies: dict[str, str] = info.get("dependencies") or {}
        self.roles = sorted({n.split("/")[1] for n in self.names if re.match(r"^roles/[^/]+/tasks/", n)})
        self.modules = sorted(pathlib.PurePath(n).stem for n in self.names
                              if re.match(r"^plugins/modules/[^/]+\.py$", n) and not n.endswith("/__init__.py"))

    def role_description(self, role: str) -> str | None:
        """The short_description of the role's main entry point (meta/argument_specs.yml)."""
        for ext in ("yml", "yaml"):
            text = self._texts.get(f"roles/{role}/meta/argument_specs.{ext}")
            if text is not None:
                return ((yaml.safe_load(text) or {}).get("argument_specs", {}).get("main") or {}).get("short_description")
        return None

    def imported_packages(self) -> set[str]:
        """Top-level names the plugins import (at any depth of the module)."""
        found = set()
        for name, text in self._texts.items():
            if not (name.startswith("plugins/") and name.endswith(".py")):
                continue
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
        return found


# --- the dependency collections -----------------------------------------------------------------

def _collection_roots() -> list[pathlib.Path]:
    """Where installed collections may be, in order: ANSIBLE_COLLECTIONS_PATH, this interpreter's
    sys.path (the ``ansible`` package installs its collections into site-packages), .venv's."""
    roots = [pathlib.Path(p) for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    roots += [pathlib.Path(p) for p in sys.path if p]
    roots += sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    roots += [pathlib.Path.home() / ".ansible" / "collections"]
    unique = {}
    for root in roots:
        root = root.parent if root.name == "ansible_collections" else root
        unique.setdefault(str(root.resolve()) if root.exists() else str(root), root)
    return list(unique.values())


def _find_collection(fqcn: str, spec: str) -> tuple[pathlib.Path, str]:
    """The installed copy of FQCN that satisfies SPEC, and its version."""
    namespace, name = fqcn.split(".")
    seen = []
    for root in _collection_roots():
        manifest = root / "ansible_collections" / namespace / name / "MANIFEST.json"
        if manifest.is_file():
            version = json.loads(manifest.read_text())["collection_info"]["version"]
            if meets_requirements(version, spec):
                return manifest.parent, version
            seen.append(f"{version} in {root}")
    raise RuntimeError(f"dependency {fqcn} {spec} (galaxy.yml) is not installed"
                       + (f"; found only {', '.join(seen)}" if seen else "") + ": run 'make venv'")


def _dependency_path(tarball: _Tarball, deps: pathlib.Path) -> list[str]:
    """Link every collection galaxy.yml depends on (and theirs) into DEPS/ansible_collections."""
    found, todo = [], dict(tarball.dependencies)
    while todo:
        fqcn, spec = todo.popitem()
        target = deps / "ansible_collections" / fqcn.replace(".", "/")
        if target.exists():
            continue
        path, version = _find_collection(fqcn, spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path, target_is_directory=True)
        found.append(f"{fqcn} {version}")
        todo.update(json.loads((path / "MANIFEST.json").read_text())["collection_info"].get("dependencies") or {})
    return found


# --- galaxy-importer ----------------------------------------------------------------------------

def check_importer(venv: pathlib.Path, tarball_path: pathlib.Path, tarball: _Tarball, tmp: pathlib.Path) -> str:
    """Run galaxy-importer on the tarball; no warning, no error, the expected roles and modules."""
    work = tmp / "importer"
    (work / "root").mkdir(parents=True)
    (work / "local").mkdir()
    config = work / "galaxy-importer.cfg"
    config.write_text(IMPORTER_CONFIG + f"ansible_local_tmp = {work / 'local'}\ntmp_root_dir = {work / 'root'}\n")
    deps = _dependency_path(tarball, work / "deps")
    env = _env(venv, GALAXY_IMPORTER_CONFIG=str(config), PYTHONPATH=str(work / "deps"))
    out = _run([str(venv / "bin" / "python"), "-m", "galaxy_importer.main", str(tarball_path.resolve())],
               env, work, "galaxy-importer")
    lines = out.splitlines()
    logged = [line for line in lines if LOG_LINE.match(line)]
    warnings = [line for line in logged if line.startswith("WARNING")]
    errors = [line for line in logged if not line.startswith("WARNING")]
    if "Traceback (most recent call last):" in out and not errors:
        errors.append("a traceback")
    if "Importer processing completed successfully" not in out:
        errors.append("no 'Importer processing completed successfully'")

    problems = []
    result_file = work / "importer_result.json"
    if result_file.is_file():
        result = json.loads(result_file.read_text())
        contents = result.get("contents") or []
        roles = {c["name"]: c.get("description") for c in contents if c["content_type"] == "role"}
        modules = sorted(c["name"] for c in contents if c["content_type"] == "module")
        if sorted(roles) != tarball.roles:
            problems.append(f"roles found {sorted(roles)}, the tarball has {tarball.roles}")
        if modules != tarball.modules:
            problems.append(f"modules found {modules}, the tarball has {tarball.modules}")
        for role, description in sorted(roles.items()):
            expected = tarball.role_description(role)
            if description != expected:
                problems.append(f"role {role}: description {description!r} in meta/main.yml, "
                                f"short_description {expected!r} in meta/argument_specs.yml")
        documented = {c["content_name"] for c in result.get("docs_blob", {}).get("contents", [])
                      if c["content_type"] == "module" and c.get("doc_strings")}
        undocumented = sorted(set(modules) - documented)
        if undocumented:
            problems.append(f"no documentation read for modules {', '.join(undocumented)}")
    else:
        problems.append("no importer_result.json")

    if warnings or errors or problems:
        print("\n".join(lines[-80:]) if errors else "\n".join(logged))
        detail = "; ".join([*dict.fromkeys(w[len("WARNING: "):] for w in warnings), *problems])
        raise RuntimeError(f"galaxy-importer: {len(warnings)} warnings, {len(errors)} errors"
                           + (f", {len(problems)} mismatches" if problems else "") + f": {detail}")
    with_deps = f"; with {', '.join(deps)}" if deps else ""
    return (f"galaxy-importer: 0 warnings, 0 errors ({len(tarball.roles)} roles, {len(tarball.modules)} modules"
            f"{with_deps})")


# --- ansible-builder introspect -----------------------------------------------------------------

def _requirement_lines(path: pathlib.Path) -> list[str]:
    """The entries of a pip or bindep file, as ansible-builder reads them (``-r`` followed)."""
    lines = []
    for line in path.read_text().splitlines():
        line = re.sub(r"(?:^|\s+)#.*$", "", line).strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += _requirement_lines(path.parent / line.split(None, 1)[1])
        else:
            lines.append(line)
    return lines


def declared_requirements(root: pathlib.Path = ROOT) -> tuple[list[str], list[str]]:
    """(python, system) requirements the collection at ROOT declares to ansible-builder:
    meta/execution-environment.yml's ``dependencies``, else requirements.txt and bindep.txt."""
    meta = next((p for p in (root / "meta" / "execution-environment.yml", root / "meta" / "execution-environment.yaml")
                 if p.is_file()), None)
    if meta is not None:
        dependencies = (yaml.safe_load(meta.read_text()) or {}).get("dependencies") or {}
    else:
        dependencies = {entry: name for entry, name in (("python", "requirements.txt"), ("system", "bindep.txt"))
                        if (root / name).is_file() and _requirement_lines(root / name)}
    found = []
    for entry in ("python", "system"):
        name = dependencies.get(entry)
        if name is None:
            found.append([])
            continue
        if not isinstance(name, str) or os.path.isabs(name):
            raise RuntimeError(f"{meta}: dependencies.{entry} must be a file path relative to the collection, not {name!r}")
        if not (root / name).is_file():
            raise RuntimeError(f"{entry} requirements file {name} (declared in {meta.name if meta else 'defaults'}) is missing")
        found.append(_requirement_lines(root / name))
    return found[0], found[1]


def _requirement_name(line: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0].lower().replace("_", "-")


def check_introspect(venv: pathlib.Path, tarball_path: pathlib.Path, tarball: _Tarball, tmp: pathlib.Path) -> str:
    """Install the tarball alone and compare ``ansible-builder introspect --sanitize`` with what
    the repository declares."""
    collections = tmp / "collections"
    env = _env(venv, ANSIBLE_COLLECTIONS_PATH=str(collections))
    _run(["ansible-galaxy", "collection", "install", "--no-deps", "--offline", "-p", str(collections),
          str(tarball_path.resolve())], env, tmp, "ansible-galaxy collection install")
    out = _run(["ansible-builder", "introspect", "--sanitize", str(collections)], env, tmp, "ansible-builder introspect")
    try:
        data = yaml.safe_load(out) or {}
    except yaml.YAMLError as exc:
        print(out)
        raise RuntimeError(f"ansible-builder introspect: output is not YAML ({exc})")

    python, system = declared_requirements()
    origin = f"# from collection {tarball.fqcn}"
    expected = {"python": [f"{line}  {origin}" for line in python], "system": [f"{line}  {origin}" for line in system]}
    problems = []
    for entry in ("python", "system"):
        got = list(data.get(entry) or [])
        missing = [line for line in expected[entry] if line not in got]
        unexpected = [line for line in got if line not in expected[entry]]
        if missing:
            problems.append(f"{entry} misses {missing}")
        if unexpected:
            problems.append(f"{entry} has unexpected {unexpected}")
    declared = {_requirement_name(line) for line in python}
    third_party = tarball.imported_packages() - PROVIDED - set(sys.stdlib_module_names)
    unknown = sorted(third_party - set(DISTRIBUTIONS))
    if unknown:
        problems.append(f"the plugins import {', '.join(unknown)}: add the distribution of each to DISTRIBUTIONS "
                        "in tools/galaxy_checks.py and to the python requirements")
    needed = {DISTRIBUTIONS[p] for p in third_party if p in DISTRIBUTIONS}
    undeclared = sorted(needed - declared)
    if undeclared:
        problems.append(f"the plugins import {', '.join(undeclared)}, which the python requirements do not declare")
    if problems:
        print(out)
        raise RuntimeError(f"ansible-builder introspect: {'; '.join(problems)}")

    def listed(lines: list[str]) -> str:
        return ", ".join(lines) or "none"
    return f"ansible-builder introspect: python {listed(python)}, system {listed(system)}"


# --- entry points -------------------------------------------------------------------------------

def run(tarball: pathlib.Path) -> str:
    """Run both checks on TARBALL; a one-line summary, or RuntimeError naming what failed."""
    tarball = pathlib.Path(tarball)
    if not tarball.is_file():
        raise RuntimeError(f"no tarball {tarball}")
    sys.path.insert(0, str(TOOLS))
    import venvs  # tools/ is not a package: found through sys.path
    venv = venvs.ensure("galaxy")
    contents = _Tarball(tarball)
    with tempfile.TemporaryDirectory(prefix="portsec-galaxy-") as tmp:
        tmp = pathlib.Path(tmp)
        importer = check_importer(venv, tarball, contents, tmp)
        introspect = check_introspect(venv, tarball, contents, tmp)
    return f"{importer}; {introspect}"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(run(pathlib.Path(argv[0])))
    except RuntimeError as exc:
        print(f"galaxy checks failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
