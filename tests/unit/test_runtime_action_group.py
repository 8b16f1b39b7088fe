"""meta/runtime.yml's action group `openstack` must list exactly the modules in plugins/modules.

The group lets one `module_defaults: group/portsec.openstack.openstack` block carry the auth
options to every module of ours; a module missing from it would silently run without them.
"""

from __future__ import annotations

import pathlib

import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[2]


def test_action_group_openstack_lists_every_module_once():
    runtime = yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())
    group = runtime["action_groups"]["openstack"]
    modules = sorted(p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py") if p.stem != "__init__")

    assert modules, "plugins/modules holds no module"
    assert len(group) == len(set(group)), f"duplicates in action group openstack: {group}"
    assert sorted(group) == modules
