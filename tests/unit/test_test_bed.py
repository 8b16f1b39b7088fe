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
