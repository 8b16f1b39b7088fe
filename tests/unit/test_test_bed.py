"""(Not shipped: galaxy.yml build_ignore.) The test bed's crash accounting: the restart lines of an OVS/OVN monitor (tests/cloud/cloud) and the
crashes that `make test` counts between two `cloud status --json` readings (tools/test.py).

The expected lines are OVS's own format (lib/daemon-unix.c, monitor_daemon): "%d crashes: pid %lu died,
%s" then ", restarting" after a crash signal, "pid %lu died, %s, exiting" after any other end.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import pathlib

import pytest

COLLECTION = pathlib.Path(__file__).resolve().parents[2]


def load(name: str, path: pathlib.Path):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cloud():
    # make test's units stage runs in the synced checkout, which always holds the test bed: no skip
    load("portsec_cloud_script", COLLECTION / "tests" / "cloud" / "cloud")  # puts tests/cloud/lib on sys.path
    # the script's modules: restarts() in cloud_procs reads the files under cloud_common's LOG and RUN
    return importlib.import_module("cloud_common"), importlib.import_module("cloud_procs")


@pytest.fixture(scope="module")
def runner():
    return load("portsec_test_runner", COLLECTION / "tools" / "test.py")


CRASH = "2026-12-01T21:55:03.171Z|00006|daemon_unix(monitor)|ERR|1 crashes: pid 8866 died, killed (Segmentation fault), restarting"
WAIT = "2026-12-01T21:55:04.171Z|00008|daemon_unix(monitor)|WARN|2 crashes: pid 9530 died, killed (Aborted), waiting until 10 seconds since last restart"
EXIT = "2026-12-01T21:55:14.047Z|00010|daemon_unix(monitor)|INFO|pid 9530 died, killed (Killed), exiting"


def test_monitor_restart_lines_count_and_others_do_not(cloud, tmp_path, monkeypatch):
    common, procs = cloud
    monkeypatch.setattr(common, "LOG", str(tmp_path))
    monkeypatch.setattr(common, "RUN", str(tmp_path))
    earlier = "\n".join(["==== 2026-12-01 21:00:00 start: ovn-controller --monitor",
                         CRASH.replace("21:55", "21:01"), ""])     # before the last start: not counted
    (tmp_path / "ovn-controller.log").write_text(earlier + "\n".join([
        "==== 2026-12-01 21:50:00 start: ovn-controller --monitor",
        "2026-12-01T21:50:01.000Z|00001|vlog|INFO|opened log file",
        CRASH, WAIT, EXIT, "",
    ]))
    (tmp_path / "ovn-controller.pid").write_text(f"4242 1234 {len(earlier)}\n")   # spawn(): pid, start time, log offset
    assert procs.restarts("ovn-controller") == (1, CRASH)
    (tmp_path / "ovn-controller.pid").write_text("4242 1234\n")                   # no offset: the whole log
    assert procs.restarts("ovn-controller")[0] == 2
    assert procs.restarts("nova-api") == (0, "")             # not a monitored daemon


def proc(running=True, pid=10, restarts=0, last=""):
    return {"running": running, "pid": pid, "restarts": restarts, "last_restart": last}


def test_crashes_between_names_deaths_and_monitor_restarts(runner, tmp_path):
    (tmp_path / "nova-compute.log").write_text("x INFO nova started\n2026 1 ERROR nova.compute boom here\n")
    before = {"processes": {"ovn-controller": proc(), "nova-compute": proc(pid=20), "keystone": proc(pid=30),
                            "ovn-northd": proc(pid=40, restarts=1, last="old")}}
    after = {"processes": {"ovn-controller": proc(restarts=1, last=CRASH), "nova-compute": proc(running=False, pid=20),
                           "keystone": proc(pid=31),                       # restarted on purpose: not a crash
                           "ovn-northd": proc(pid=40, restarts=1, last="old")}}
    found = runner.crashes_between(before, after, tmp_path)
    assert found == [
        f"ovn-controller crashed and its monitor restarted it (1x): {CRASH}",
        "nova-compute stopped: 2026 1 ERROR nova.compute boom here",
    ]


def test_a_new_monitor_counts_all_its_restarts(runner, tmp_path):
    before = {"processes": {"ovs-vswitchd": proc(pid=50, restarts=3)}}
    after = {"processes": {"ovs-vswitchd": proc(pid=51, restarts=1, last=CRASH)}}
    assert runner.crashes_between(before, after, tmp_path) == [f"ovs-vswitchd crashed and its monitor restarted it (1x): {CRASH}"]
    assert runner.crashes_between(after, after, tmp_path) == []
    assert runner.crashes_between(None, after, tmp_path) == ["the local cloud's status could not be read (cloud status --json)"]


# -- tools/zipimport_cache.py: the control venv's bytecode cache for zip imports --------------


@pytest.fixture()
def zip_cache(tmp_path, monkeypatch):
    import zipimport

    original = zipimport._compile_source
    cache = load("portsec_zipimport_cache_under_test", COLLECTION / "tools" / "zipimport_cache.py")
    monkeypatch.setattr(cache, "CACHE_DIR", str(tmp_path / "cache"))
    yield cache
    zipimport._compile_source = original


def zipped_module(path: pathlib.Path, source: str) -> pathlib.Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("probe_mod.py", source)
    return path


def import_from(archive: pathlib.Path):
    import zipimport

    importer = zipimport.zipimporter(str(archive))
    return importer.get_code("probe_mod")


SOURCE = "def where():\n    raise ValueError('from here')\n\nANSWER = 6 * 7\n"


def test_zip_cache_compiles_once_and_names_the_zip_it_came_from(zip_cache, tmp_path):
    calls = []
    original = zip_cache.ORIGINAL_COMPILE
    zip_cache.ORIGINAL_COMPILE = lambda pathname, source: calls.append(pathname) or original(pathname, source)
    try:
        first = import_from(zipped_module(tmp_path / "one.zip", SOURCE))
        second = import_from(zipped_module(tmp_path / "two.zip", SOURCE))
    finally:
        zip_cache.ORIGINAL_COMPILE = original
    assert len(calls) == 1  # the second zip, same source, came from the cache
    assert len(list((tmp_path / "cache").rglob("*"))) == 2  # one folder, one entry
    # the code is compile()'s, with the file name of the zip it was imported from this time
    assert second.co_code == first.co_code
    assert first.co_filename == str(tmp_path / "one.zip" / "probe_mod.py")
    assert second.co_filename == str(tmp_path / "two.zip" / "probe_mod.py")
    where = [const for const in second.co_consts if hasattr(const, "co_filename")][0]
    assert where.co_filename == second.co_filename
    namespace = {}
    exec(second, namespace)  # pylint: disable=exec-used
    assert namespace["ANSWER"] == 42


def test_zip_cache_other_source_other_entry(zip_cache, tmp_path):
    import_from(zipped_module(tmp_path / "one.zip", SOURCE))
    changed = import_from(zipped_module(tmp_path / "two.zip", SOURCE.replace("6 * 7", "6 * 9")))
    namespace = {}
    exec(changed, namespace)  # pylint: disable=exec-used
    assert namespace["ANSWER"] == 54
    assert len([p for p in (tmp_path / "cache").rglob("*") if p.is_file()]) == 2


def test_zip_cache_unwritable_cache_still_compiles(zip_cache, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder would go")
    code = import_from(zipped_module(tmp_path / "one.zip", SOURCE))
    namespace = {}
    exec(code, namespace)  # pylint: disable=exec-used
    assert namespace["ANSWER"] == 42


# -- the ML2/OVS backends of the local cloud -------------------------------------------------

def test_each_backend_manages_its_own_processes(cloud):
    common = cloud[0]
    ovn, ovs = common.managed("ovn"), common.managed("ovs")
    assert len(ovn) == 19 and len(ovs) == 17
    assert {"ovn-nb", "ovn-sb", "ovn-northd", "ovn-controller", "neutron-ovn-maintenance-worker"} <= set(ovn)
    assert not {"neutron-rpc-server", "neutron-openvswitch-agent", "neutron-l3-agent"} & set(ovn)
    assert not [name for name in ovs if name.startswith("ovn-") or "ovn" in name]
    assert {"neutron-rpc-server", "neutron-openvswitch-agent", "neutron-l3-agent"} <= set(ovs)
    assert common.managed("ovs-hybrid") == ovs
    # the agents start after the server they call, nova-compute last
    assert ovs.index("neutron-rpc-server") < ovs.index("neutron-openvswitch-agent") and ovs[-1] == "nova-compute"


def test_hybrid_plug_names_are_os_vifs(cloud):
    portsec_guests = importlib.import_module("portsec_guests")  # on sys.path once the cloud script is loaded

    port = "8a6c3b1e-2f4d-4e5a-9b7c-1d2e3f4a5b6c"
    assert portsec_guests.hybrid_devs(port) == ("qbr8a6c3b1e-2f", "qvb8a6c3b1e-2f", "qvo8a6c3b1e-2f")
    assert portsec_guests.ovs_dev(port) == "tap8a6c3b1e-2f"


def test_hybrid_refused_without_bridge_netfilter(cloud, tmp_path, monkeypatch):
    commands = importlib.import_module("cloud_commands")
    for proto in ("ip", "ip6", "arp"):
        (tmp_path / f"bridge-nf-call-{proto}tables").write_text("1\n")
    (tmp_path / "bridge-nf-call-ip6tables").write_text("0\n")
    monkeypatch.setattr(commands, "BRIDGE_NF", str(tmp_path / "bridge-nf-call-%stables"))
    with pytest.raises(cloud[0].CloudError, match=r"and here net.bridge.bridge-nf-call-ip6tables is 0: `modprobe br_netfilter"):
        commands.requested_backend("ovs-hybrid")
    (tmp_path / "bridge-nf-call-ip6tables").write_text("1\n")
    assert commands.requested_backend("ovs-hybrid") == "ovs-hybrid"
    with pytest.raises(cloud[0].CloudError, match=r"'ovs-dvr' is not one of ovn, ovs, ovs-hybrid"):
        commands.requested_backend("ovs-dvr")


# The agent's own lines (neutron ovs_neutron_agent.py rpc_loop, process_network_ports), shortened.
AGENT = "2026-12-04 01:45:09.091 9542 INFO neutron.plugins.ml2.drivers.openvswitch.agent.ovs_neutron_agent [-] "


@pytest.mark.parametrize("lines, unbound, ok, said", [
    # the first iteration begun after the call applied its firewall: settled
    (["Agent rpc_loop - iteration:130 started", "process_network_ports - iteration:130 - agent port security group processed in 0.122"],
     [], True, "applied iteration 130"),
    # an iteration with nothing to do completes without the firewall line
    (["Agent rpc_loop - iteration:7 started", "Agent rpc_loop - iteration:7 completed. Processed ports statistics: {}. Elapsed:0.002"],
     [], True, "applied iteration 7"),
    # the end of an iteration begun before the call does not count
    (["process_network_ports - iteration:129 - agent port security group processed in 0.1", "Agent rpc_loop - iteration:129 completed",
      "Agent rpc_loop - iteration:130 started"], [], False, "no iteration of the agent that began since the call applied its firewall"),
    # a port still on the dead VLAN holds the barrier
    (["Agent rpc_loop - iteration:3 started", "Agent rpc_loop - iteration:3 completed"], ["qvo8a6c3b1e-2f"], False,
     "ports still on the dead VLAN: qvo8a6c3b1e-2f"),
])
def test_ml2ovs_settle_waits_for_an_iteration_begun_after_the_call(cloud, monkeypatch, lines, unbound, ok, said):
    ml2ovs = importlib.import_module("cloud_ml2ovs")
    monkeypatch.setattr(ml2ovs, "_log_size", lambda: 0)
    monkeypatch.setattr(ml2ovs, "_agent_log_from", lambda offset: "".join(AGENT + line + "\n" for line in lines))
    monkeypatch.setattr(ml2ovs, "unbound_ports", lambda: list(unbound))
    settled, _seconds, message = ml2ovs.settle(timeout=0.3)
    assert settled is ok
    assert said in message


def test_make_test_runs_the_matrix_and_the_port_modules_on_ml2ovs_first_then_everything_on_ovn(runner, monkeypatch):
    class Args:
        backend, target = "", []

    on_ml2ovs = ["dataplane_matrix", "port_security", "allowed_address_pair"]
    monkeypatch.delenv("PORTSEC_TEST_BACKENDS", raising=False)
    assert runner.backend_phases(Args) == [("ovs", on_ml2ovs), ("ovn", None)]
    monkeypatch.setenv("PORTSEC_TEST_BACKENDS", "ovs,ovs-hybrid")
    assert runner.backend_phases(Args) == [("ovs", on_ml2ovs), ("ovs-hybrid", on_ml2ovs), ("ovn", None)]
    monkeypatch.setenv("PORTSEC_TEST_BACKENDS", "")
    assert runner.backend_phases(Args) == [("ovn", None)]
    Args.target = ["cases"]
    assert runner.backend_phases(Args) == [("ovn", None)]
    Args.backend = "ovs-hybrid"
    assert runner.backend_phases(Args) == [("ovs-hybrid", None)]


def test_the_port_modules_run_beside_the_matrix_on_ml2ovs(runner, monkeypatch):
    # The matrix alone in one lane; the two port modules' targets, together shorter, in the other.
    monkeypatch.delenv("PORTSEC_TEST_LANES", raising=False)
    assert runner.plan_lanes(runner.ML2OVS_TARGETS) == [
        ("1", ["dataplane_matrix"]), ("2", ["allowed_address_pair", "port_security"])]
