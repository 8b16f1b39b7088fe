"""The floors the collection declares are the floors make test runs.

Declared: ``requires_ansible`` in meta/runtime.yml, openstacksdk in requirements.txt, the
openstack.cloud dependency in galaxy.yml and meta/execution-environment.yml, and the README's
table of supported versions. Tested: the oldest ansible-core leg of the compat stage
(tools/pins/core-2.N.in, with its openstacksdk) and the ``oldest_control_node`` integration target,
which runs under that leg and asserts the versions it finds. A floor raised in one place and not
in the others, or a leg missing between the floor and the newest ansible-core, fails here.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[2]
TARGET = COLLECTION / "tests" / "integration" / "targets" / "oldest_control_node"
PINS = COLLECTION / "tools" / "pins"


def floor(spec: str, name: str) -> str:
    """'>=2.16.0' -> '2.16.0': the one lower bound of a version specifier."""
    found = re.fullmatch(r"\s*>=\s*([0-9][0-9.]*)\s*(,\s*<\s*[0-9.]+\s*)?", spec)
    assert found, f"{name}: expected a '>=X.Y.Z' floor, found {spec!r}"
    return found.group(1)


def minor(version: str) -> tuple[int, int]:
    parts = version.split(".")
    return int(parts[0]), int(parts[1])


def pinned(text: str, package: str) -> str:
    found = re.search(rf"^{re.escape(package)}==(\S+)", text, re.M | re.I)
    assert found, f"no {package}== pin"
    return found.group(1)


@pytest.fixture(name="declared", scope="module")
def fixture_declared() -> dict:
    runtime = yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    ee = yaml.safe_load((COLLECTION / "meta" / "execution-environment.yml").read_text())
    ee_collections = yaml.safe_load(ee["dependencies"]["galaxy"])["collections"]
    sdk = [line for line in (COLLECTION / "requirements.txt").read_text().splitlines() if re.match(r"openstacksdk\b", line)]
    assert len(sdk) == 1, f"requirements.txt: expected one openstacksdk line, found {sdk}"
    return {
        "ansible_core": floor(runtime["requires_ansible"], "meta/runtime.yml requires_ansible"),
        "openstacksdk": floor(sdk[0][len("openstacksdk"):], "requirements.txt openstacksdk"),
        "openstack_cloud": floor(galaxy["dependencies"]["openstack.cloud"], "galaxy.yml dependencies"),
        "ee_openstack_cloud": [floor(c["version"], "meta/execution-environment.yml") for c in ee_collections if c["name"] == "openstack.cloud"],
        "ee_python": ee["dependencies"].get("python"),
    }


@pytest.fixture(name="legs", scope="module")
def fixture_legs() -> dict:
    """ansible-core minor -> (ansible-core, openstacksdk) pinned in tools/pins/core-*.in."""
    legs = {}
    for path in sorted(PINS.glob("core-*.in")):
        text = path.read_text()
        core = pinned(text, "ansible-core")
        assert path.stem == f"core-{'.'.join(map(str, minor(core)))}", f"{path.name} pins ansible-core {core}"
        legs[minor(core)] = (core, pinned(text, "openstacksdk"))
    assert legs, f"no core-*.in in {PINS}"
    return legs


def test_execution_environment_agrees_with_galaxy_yml(declared):
    assert declared["ee_openstack_cloud"] == [declared["openstack_cloud"]]
    assert declared["ee_python"] == "requirements.txt"


def test_oldest_leg_is_the_declared_floor(declared, legs):
    oldest = min(legs)
    core, sdk = legs[oldest]
    assert oldest == minor(declared["ansible_core"]), f"oldest leg ansible-core {core}, declared >={declared['ansible_core']}"
    assert sdk == declared["openstacksdk"], f"oldest leg openstacksdk {sdk}, requirements.txt >={declared['openstacksdk']}"


def test_a_leg_for_every_minor_up_to_the_newest(declared, legs):
    """From the floor to the one below .venv's ansible-core (tools/constraints.txt): .venv is the newest leg."""
    newest = minor(pinned((COLLECTION / "tools" / "constraints.txt").read_text(), "ansible-core"))
    first = minor(declared["ansible_core"])
    assert newest[0] == first[0], "a new major version of ansible-core: extend this test"
    wanted = {(first[0], n) for n in range(first[1], newest[1])}
    assert set(legs) == wanted, f"legs {sorted(legs)}, wanted {sorted(wanted)} (.venv runs {newest})"


def test_newest_leg_runs_the_newest_sdk_of_the_control_venv(legs):
    """Every leg but the oldest runs the openstacksdk .venv pins (the newest tested)."""
    newest_sdk = pinned((COLLECTION / "tools" / "constraints.txt").read_text(), "openstacksdk")
    others = {leg: sdk for leg, (_core, sdk) in legs.items() if leg != min(legs)}
    assert all(sdk == newest_sdk for sdk in others.values()), f"{others}, .venv pins {newest_sdk}"


def test_oldest_control_node_target_runs_the_floors(declared, legs):
    venv = (TARGET / "controller_venv").read_text().split()
    assert venv == [f"core-{declared['ansible_core'].rsplit('.', 1)[0]}"], f"controller_venv: {venv}"
    assert (PINS / f"{venv[0]}.in").is_file()
    defaults = yaml.safe_load((TARGET / "defaults" / "main.yml").read_text())
    assert defaults["oc_ansible_core"] == ".".join(map(str, minor(declared["ansible_core"])))
    assert defaults["oc_openstacksdk"] == declared["openstacksdk"]
    assert defaults["oc_openstack_cloud"] == declared["openstack_cloud"]
    assert legs[min(legs)][1] == defaults["oc_openstacksdk"]


def test_readme_table_states_the_same_ranges(declared, legs):
    readme = (COLLECTION / "README.md").read_text()
    rows = {m.group(1).strip(): m.group(2) for m in re.finditer(r"^\| (ansible-core|openstacksdk|openstack\.cloud) \| ([^|]+) \|", readme, re.M)}
    assert set(rows) == {"ansible-core", "openstacksdk", "openstack.cloud"}, f"README's supported-versions table: {sorted(rows)}"
    newest_core = minor(pinned((COLLECTION / "tools" / "constraints.txt").read_text(), "ansible-core"))
    newest_sdk = pinned((COLLECTION / "tools" / "constraints.txt").read_text(), "openstacksdk")
    core_floor = ".".join(map(str, minor(declared["ansible_core"])))
    assert rows["ansible-core"].startswith(f"{core_floor} to {'.'.join(map(str, newest_core))} "), rows["ansible-core"]
    assert rows["openstacksdk"].startswith(f"{declared['openstacksdk']} to {newest_sdk} "), rows["openstacksdk"]
    assert rows["openstack.cloud"].startswith(f"{declared['openstack_cloud']} and later "), rows["openstack.cloud"]
