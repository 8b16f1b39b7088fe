"""What the roles and playbooks use of openstack.cloud, held to docs/openstack-cloud.md and to the floor.

Every task in roles/ and playbooks/ (recursing into block/rescue/always) is read; per
openstack.cloud module it collects the option keys the tasks pass and who passes them, and per
openstack.cloud action group the options set through ``module_defaults``. Then:

- docs/openstack-cloud.md's tables list exactly those modules, users and options;
- each option is one that the installed openstack.cloud documents for that module (an option, an
  alias, or one of the ``openstack.cloud.openstack`` doc fragment's), is not documented as
  deprecated, and a literal value is one of its documented choices;
- each module is in openstack.cloud's action group ``openstack``, and every role that calls
  openstack.cloud modules sets that group's ``module_defaults``;
- the installed openstack.cloud is the floor galaxy.yml declares, so the above holds for the
  oldest openstack.cloud the collection accepts.
"""

from __future__ import annotations

import ast
import collections
import functools
import importlib.util
import json
import pathlib
import re

import pytest
import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[2]
DOC = COLLECTION / "docs" / "openstack-cloud.md"
PREFIX = "openstack.cloud."
GROUP_PREFIX = "group/" + PREFIX
FRAGMENT = "openstack.cloud.openstack"
NO_OPTIONS = "—"
# Task keys missing from ansible/keyword_desc.yml that name no module either.
EXTRA_KEYWORDS = {"local_action", "listen"}
PLAY_TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers")
# libyaml's loader where PyYAML has it: the module docs are long, and the test should stay fast.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str):
    return yaml.load(text, Loader=LOADER)  # LOADER is a safe loader


def installed_path(package: str) -> pathlib.Path:
    """Directory of an installed package, found the way Python imports it."""
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"{package} is not importable: this test reads the installed ansible-core and openstack.cloud (the `ansible` package bundles both)")
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def keywords() -> set[str]:
    """Playbook keywords, from the installed ansible-core's own list."""
    return set(load((installed_path("ansible") / "keyword_desc.yml").read_text())) | EXTRA_KEYWORDS


def python_constant(path: pathlib.Path, cls: str | None, name: str) -> str:
    """A string constant of a module (or of a class in it), read without importing the module."""
    body = ast.parse(path.read_text()).body
    if cls is not None:
        body = next(node.body for node in body if isinstance(node, ast.ClassDef) and node.name == cls)
    for node in body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path}: no {name}")


def floor(spec: str) -> str:
    found = re.fullmatch(r"\s*>=\s*([0-9][0-9.]*)\s*(,\s*<\s*[0-9.]+\s*)?", spec)
    assert found, f"galaxy.yml: expected a '>=X.Y.Z' floor for openstack.cloud, found {spec!r}"
    return found.group(1)


def user_of(path: pathlib.Path) -> str:
    """'topology' for roles/topology/..., 'playbooks/demo.yml' for a playbook or its task files."""
    rel = path.relative_to(COLLECTION)
    return rel.parts[1] if rel.parts[0] == "roles" else rel.as_posix()


class Usage:
    """openstack.cloud modules -> users and options; action groups -> users and options."""

    def __init__(self):
        self.keywords = keywords()
        self.modules = collections.defaultdict(lambda: {"users": set(), "options": set()})
        self.groups = collections.defaultdict(lambda: {"users": set(), "options": set()})
        self.values = collections.defaultdict(list)  # module -> [(where, option, value)]
        self.actions = []  # (where, action name) of every task

    def defaults(self, where: str, user: str, module_defaults) -> None:
        for entry in module_defaults if isinstance(module_defaults, list) else [module_defaults or {}]:
            for key, options in entry.items():
                if key.startswith(GROUP_PREFIX):
                    self.groups[key]["users"].add(user)
                    self.groups[key]["options"].update(options or {})
                elif key.startswith(PREFIX):
                    pytest.fail(f"{where}: module_defaults for {key}: not expected by this test, extend it")

    def task(self, where: str, user: str, task: dict) -> None:
        assert isinstance(task, dict), f"{where}: a task is not a mapping: {task!r}"
        self.defaults(where, user, task.get("module_defaults"))
        if "block" in task:
            for key in ("block", "rescue", "always"):
                for index, child in enumerate(task.get(key) or []):
                    self.task(f"{where}/{key}[{index}]", user, child)
            return
        names = [k for k in task if k not in self.keywords and not k.startswith("with_")]
        if not names and isinstance(task.get("action", task.get("local_action")), dict):
            raw = dict(task.get("action", task.get("local_action")))
            names, args = [raw.pop("module", None)], raw
        else:
            assert len(names) == 1, f"{where}: expected one module in the task, found {names}"
            args = task[names[0]]
        action = names[0]
        self.actions.append((where, action))
        if not action.startswith(PREFIX):
            return
        if args is None:
            args = {}
        assert isinstance(args, dict), f"{where}: {action} with free-form arguments {args!r}: pass a mapping"
        args = {**(task.get("args") or {}), **args}
        module = action[len(PREFIX):]
        self.modules[module]["users"].add(user)
        self.modules[module]["options"].update(args)
        self.values[module].extend((where, key, value) for key, value in args.items())

    def file(self, path: pathlib.Path) -> None:
        user = user_of(path)
        content = load(path.read_text()) or []
        assert isinstance(content, list), f"{path}: expected a list of tasks or plays"
        rel = path.relative_to(COLLECTION).as_posix()
        for index, item in enumerate(content):
            where = f"{rel}[{index}]"
            if "import_playbook" in item:
                continue
            if "hosts" in item:
                self.defaults(where, user, item.get("module_defaults"))
                for key in PLAY_TASK_LISTS:
                    for number, task in enumerate(item.get(key) or []):
                        self.task(f"{where}/{key}[{number}]", user, task)
            else:
                self.task(where, user, item)


def task_files() -> list[pathlib.Path]:
    roles = [p for kind in ("tasks", "handlers") for p in COLLECTION.glob(f"roles/*/{kind}/**/*.yml")]
    return sorted(roles + list(COLLECTION.glob("playbooks/**/*.yml")))


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each pipe table of a markdown text: its rows (header first), cells stripped, separator dropped."""
    tables, rows = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def code_list(cell: str) -> list[str]:
    """'`a`, `b`' -> ['a', 'b']; the dash -> []."""
    if cell == NO_OPTIONS:
        return []
    items = [item.strip() for item in cell.split(",")]
    assert all(re.fullmatch(r"`[^`]+`", item) for item in items), f"expected `code`, `code` or {NO_OPTIONS}, found {cell!r}"
    return [item.strip("`") for item in items]


def documented(rows: list[list[str]], key_prefix: str, where: str) -> dict:
    """Table rows '| `KEY` | users | options |' -> {KEY without prefix: {users, options}}, in order, sorted."""
    table = {}
    for row in rows[1:]:
        assert len(row) == 3, f"{where}: row {row} has not three cells"
        (key,), users, options = code_list(row[0]), code_list(row[1]), code_list(row[2])
        assert key.startswith(key_prefix), f"{where}: {key} does not start with {key_prefix}"
        assert key[len(key_prefix):] not in table, f"{where}: {key} twice"
        assert users == sorted(users), f"{where}: users of {key} not sorted: {users}"
        assert options == sorted(options), f"{where}: options of {key} not sorted: {options}"
        table[key[len(key_prefix):]] = {"users": set(users), "options": set(options)}
    assert list(table) == sorted(table), f"{where}: rows not sorted: {list(table)}"
    return table


@pytest.fixture(name="usage", scope="module")
def fixture_usage() -> Usage:
    usage = Usage()
    files = task_files()
    assert any("/tasks/" in str(p) for p in files), "no role task file found"
    for path in files:
        usage.file(path)
    assert usage.modules, "no task calls an openstack.cloud module: the test reads the wrong files"
    return usage


@pytest.fixture(name="doc_tables", scope="module")
def fixture_doc_tables() -> dict:
    by_header = {rows[0][0]: rows for rows in markdown_tables(DOC.read_text())}
    assert "module" in by_header, f"{DOC.name}: no table whose first column is 'module'"
    assert "action group" in by_header, f"{DOC.name}: no table whose first column is 'action group'"
    return {
        "modules": documented(by_header["module"], PREFIX, f"{DOC.name} module table"),
        "groups": documented(by_header["action group"], GROUP_PREFIX, f"{DOC.name} action group table"),
    }


@pytest.fixture(name="installed", scope="module")
def fixture_installed() -> pathlib.Path:
    return installed_path("ansible_collections.openstack.cloud")


@pytest.fixture(name="fragment", scope="module")
def fixture_fragment(installed) -> dict:
    text = python_constant(installed / "plugins" / "doc_fragments" / "openstack.py", "ModuleDocFragment", "DOCUMENTATION")
    return load(text)["options"]


@functools.lru_cache(maxsize=None)
def module_doc(path: pathlib.Path) -> dict:
    return load(python_constant(path, None, "DOCUMENTATION"))


def module_options(installed: pathlib.Path, fragment: dict, module: str) -> dict:
    """Option or alias name -> its documentation, the doc fragment's included."""
    path = installed / "plugins" / "modules" / f"{module}.py"
    assert path.is_file(), f"openstack.cloud at {installed} has no module {module}"
    doc = module_doc(path)
    fragments = doc.get("extends_documentation_fragment") or []
    fragments = [fragments] if isinstance(fragments, str) else fragments
    assert FRAGMENT in fragments, f"openstack.cloud.{module} no longer extends {FRAGMENT}: load its fragments here"
    names = {}
    for name, spec in {**fragment, **(doc.get("options") or {})}.items():
        for alias in [name] + list(spec.get("aliases") or []):
            names[alias] = spec
    return names


def test_actions_are_fqcn(usage):
    """Short names would escape this test (and the collections keyword could reroute them)."""
    short = [f"{where}: {action}" for where, action in usage.actions if "." not in action]
    assert not short, "tasks not calling their module by FQCN:\n" + "\n".join(short)


def test_doc_lists_the_modules_and_options_the_tasks_use(usage, doc_tables):
    found = {module: dict(entry) for module, entry in usage.modules.items()}
    assert doc_tables["modules"] == found


def test_doc_lists_the_action_groups_the_tasks_set(usage, doc_tables):
    found = {group[len(GROUP_PREFIX):]: dict(entry) for group, entry in usage.groups.items()}
    assert doc_tables["groups"] == found


def test_options_exist_in_the_installed_openstack_cloud(usage, installed, fragment):
    problems = []
    for module, entry in sorted(usage.modules.items()):
        names = module_options(installed, fragment, module)
        for option in sorted(entry["options"]):
            if option not in names:
                problems.append(f"openstack.cloud.{module}: no option or alias {option!r} (used by {sorted(entry['users'])})")
            elif re.search(r"\bdeprecated\b", " ".join(map(str, names[option].get("description") or [])), re.I) or "deprecated" in names[option]:
                problems.append(f"openstack.cloud.{module}: option {option!r} is documented as deprecated")
        for where, option, value in usage.values[module]:
            choices = names.get(option, {}).get("choices")
            if choices and not (isinstance(value, str) and "{{" in value) and value not in choices:
                problems.append(f"{where}: openstack.cloud.{module} {option}={value!r}, not one of {choices}")
    assert not problems, "\n".join(problems)


def test_module_defaults_options_reach_every_module_used(usage, installed, fragment):
    """A group option must be one each module of the group (that the tasks use) takes."""
    problems = []
    for group, entry in sorted(usage.groups.items()):
        assert group == GROUP_PREFIX + "openstack", f"{group}: only openstack.cloud's group openstack is expected"
        for module in sorted(usage.modules):
            names = module_options(installed, fragment, module)
            problems += [f"{group} option {option!r}: not an option of openstack.cloud.{module}" for option in sorted(entry["options"] - set(names))]
    assert not problems, "\n".join(problems)


def test_modules_are_in_the_action_group_and_roles_set_it(usage, installed):
    runtime = load((installed / "meta" / "runtime.yml").read_text())
    group = set(runtime["action_groups"]["openstack"])
    assert not set(usage.modules) - group, f"not in openstack.cloud's action group openstack: {sorted(set(usage.modules) - group)}"
    users = set().union(*(entry["users"] for entry in usage.modules.values()))
    setting = usage.groups.get(GROUP_PREFIX + "openstack", {"users": set()})["users"]
    without = sorted(users - setting)
    assert not without, f"call openstack.cloud modules without module_defaults {GROUP_PREFIX}openstack: {without}"


def test_installed_openstack_cloud_is_the_declared_floor(installed):
    galaxy = load((COLLECTION / "galaxy.yml").read_text())
    declared = floor(galaxy["dependencies"]["openstack.cloud"])
    manifest = json.loads((installed / "MANIFEST.json").read_text())["collection_info"]
    assert (manifest["namespace"], manifest["name"]) == ("openstack", "cloud")
    assert manifest["version"] == declared, (
        f"openstack.cloud {manifest['version']} installed at {installed}, galaxy.yml declares >={declared}: "
        "the tests must run against the floor (raise the floor, or test with the floor's copy)"
    )
