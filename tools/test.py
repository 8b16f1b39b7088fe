"""Run the test stages of portsec.openstack: `make test` calls this with the control venv's Python.

Every stage prints its name, runs, then prints its duration and a one-line summary. All selected
stages run even when one fails; the exit status is non-zero when any failed. The last line counts
the stages: "stages: N passed, M failed".

    python tools/test.py                      all stages, in order
    python tools/test.py --stage sanity       one stage (or a comma-separated list; "lint" = the four linters)
    python tools/test.py --stage integration --target local_cloud
    python tools/test.py --stage integration --target dataplane_matrix --backend ovs-hybrid
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # compat, galaxy_checks: imported by the stages that use them
BUILD = ROOT / "build"
TREE = BUILD / "ansible_collections" / "portsec" / "openstack"
VENV_BIN = pathlib.Path(sys.executable).parent
CONFIG = pathlib.Path("tests/integration/integration_config.yml")
FQCN = "portsec.openstack"


class StageFailed(Exception):
    """A stage ran and found a problem; the message is its summary line."""


# Why each failed integration target failed (its last failed tasks), printed again after the
# summary: a CI log is often read from its tail, and the reason would otherwise be thousands of
# lines up.
FAILURES: list[str] = []
CLOUD_NOTES: list[str] = []  # the local cloud's state: printed before FAILURES, which end the log
CRASHES: list[str] = []  # test-bed processes that died or restarted during a target
STAGE_RESULTS: dict[str, tuple[bool, str]] = {}  # (passed, summary) of each stage run so far
# `cloud start` begun in the background while the static stages run (see start_cloud_early).
EARLY_START: dict = {}


def failed_tasks(output: str, limit: int = 3, width: int = 700) -> list[str]:
    """The last `limit` failed tasks of an ansible-playbook output: 'TASK [...] -> fatal: ...'.

    The last ones, because failures a block rescued on purpose come before the one that ended the play.
    """
    found, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line.rstrip("* ").strip()
        elif re.match(r"^(fatal|failed): \[", line) and "...ignoring" not in line:
            found.append(f"{task} -> {line.strip()}"[:width])
    return found[-limit:]


def run(cmd: list[str], cwd: pathlib.Path = ROOT, env: dict | None = None, check: bool = True, echo: bool = True) -> tuple[int, str]:
    """Run a command, echo its output as it comes (unless echo=False), and return (exit code, output)."""
    print(f"$ {' '.join(cmd)}" + (f"    (in {os.path.relpath(cwd, ROOT)})" if cwd != ROOT else ""), flush=True)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace",
    )
    lines = []
    for line in proc.stdout:
        if echo:
            sys.stdout.write(line)
        lines.append(line)
    proc.wait()
    sys.stdout.flush()
    output = "".join(lines)
    if check and proc.returncode != 0:
        raise StageFailed(f"{cmd[0]} exited {proc.returncode}: {last_line(output)}")
    return proc.returncode, output


def last_line(text: str, pattern: str = "") -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and re.search(pattern, line)]
    return lines[-1] if lines else "(no output)"


def sync() -> None:
    subprocess.run([str(ROOT / "tools" / "sync.sh")], check=True, stdout=subprocess.DEVNULL)


def modules() -> list[str]:
    return sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def roles() -> list[str]:
    return sorted(p.name for p in (ROOT / "roles").glob("*") if (p / "tasks").is_dir())


def filters() -> list[str]:
    """The filter plugins (one documented filter per file)."""
    return sorted(p.stem for p in (ROOT / "plugins" / "filter").glob("*.py") if not p.stem.startswith("_"))


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


# --- stages -------------------------------------------------------------------------------------

def stage_ansible_lint(args) -> str:
    # --offline: galaxy.yml's dependency (openstack.cloud) comes from the ansible package; Galaxy
    # is not asked. Runs in the build tree so its cache (.ansible/) stays out of the checkout.
    sync()
    code, out = run(["ansible-lint", "--offline", "--profile", "production"], cwd=TREE, check=False)
    summary = last_line(out, r"^(Passed|Failed)")
    if code != 0:
        raise StageFailed(summary)
    return summary


def stage_yamllint(args) -> str:
    listed = run(["yamllint", "--list-files", "."], check=False, echo=False)[1]
    count = len(listed.split())
    code, out = run(["yamllint", "--strict", "--format", "parsable", "."], check=False)
    problems = len(out.strip().splitlines()) if out.strip() else 0
    summary = f"{count} files, {problems} problems"
    if code != 0:
        raise StageFailed(summary)
    return summary


def stage_ruff(args) -> str:
    code, out = run(["ruff", "check", "--output-format", "concise", "."], check=False)
    summary = last_line(out)
    if code != 0:
        raise StageFailed(summary)
    return summary


def stage_changelog(args) -> str:
    fragments = [p for p in (ROOT / "changelogs" / "fragments").glob("*") if p.suffix in (".yml", ".yaml")]
    code, out = run(["antsibull-changelog", "lint"], check=False)
    if code != 0 or out.strip():
        raise StageFailed(f"antsibull-changelog lint: {len(out.strip().splitlines())} problems")
    return f"{len(fragments)} fragments, changelogs/config.yaml valid"


def stage_sanity(args) -> str:
    # ansible-test needs the ansible_collections/<ns>/<name> layout: run it in the build tree.
    # --venv: ansible-test installs each test's pinned requirements in its own virtualenvs
    # (pip bootstrapped offline by tools/ansible_test_pip.py).
    sync()
    run([sys.executable, str(ROOT / "tools" / "ansible_test_pip.py")])
    code, out = run(["ansible-test", "sanity", "--venv", "--python", python_version(), "--color", "no"], cwd=TREE, check=False)
    ran = re.findall(r'^Running sanity test "([^"]+)"', out, re.M)
    failed = re.search(r"The (\d+) sanity test\(s\) listed below \(out of (\d+)\) failed", out)
    if code != 0 or failed:
        count = failed.group(1) if failed else "?"
        raise StageFailed(f"{count} of {len(ran)} sanity tests failed on Python {python_version()} (exit {code})")
    if not ran:
        raise StageFailed("ansible-test ran no sanity test")
    return f"{len(ran)} sanity tests passed on Python {python_version()}"


def stage_units(args) -> str:
    # pytest from the build tree: tests import ansible_collections.portsec.openstack.*, found
    # through PYTHONPATH=build (a namespace package, merged with the ansible package's collections).
    sync()
    code, out = run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra", "tests/unit"],
        cwd=TREE, env={"PYTHONPATH": str(BUILD)}, check=False,
    )
    summary = last_line(out, r"(passed|failed|error|no tests ran)").strip("= ")
    if code == 5:
        raise StageFailed("pytest collected no tests (exit 5): nothing was tested")
    if code != 0:
        raise StageFailed(summary)
    return summary


def stage_compat(args) -> str:
    """Every ansible-core the collection declares, each in its own venv (tools/compat.py): units
    and sanity. The newest is .venv, whose units and sanity are the stages of those names (run
    here when this invocation did not run them)."""
    import compat  # pylint: disable=import-outside-toplevel

    sync()
    newest = {}
    for name in ("units", "sanity"):
        if name not in STAGE_RESULTS:
            try:
                STAGE_RESULTS[name] = (True, STAGES[name](args))
            except StageFailed as exc:
                STAGE_RESULTS[name] = (False, str(exc))
        newest[name] = STAGE_RESULTS[name]
    code, versions = run([sys.executable, "-c", "import ansible.release, openstack.version;"
                          " print(ansible.release.__version__, openstack.version.__version__)"], echo=False)
    core, sdk = versions.split()
    newest_line = (f"ansible-core {core:<8} openstacksdk {sdk:<7} {'.venv':<16} units {newest['units'][1]}; "
                   f"sanity (full set) {newest['sanity'][1]} (stages units, sanity)")
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    ok, lines, outputs = compat.stage(env)
    ok = ok and newest["units"][0] and newest["sanity"][0]
    for out in outputs:
        print(out[-6000:])
    print("--- compat, one line per ansible-core:\n" + "\n".join(f"    {line}" for line in lines + [newest_line]), flush=True)
    summary = f"{len(lines) + 1} ansible-core versions ({lines[0].split()[1]} to {core})"
    if not ok:
        raise StageFailed(summary + ": " + "; ".join(line for line in lines + [newest_line] if "FAIL" in line or "failed" in line))
    return summary + ": units and sanity passed on each"


def stage_docs_lint(args) -> str:
    sync()
    code, out = run(
        ["antsibull-docs", "lint-collection-docs", "--plugin-docs", "--validate-collection-refs", "self", "."],
        cwd=TREE, env={"ANSIBLE_COLLECTIONS_PATH": str(BUILD)}, check=False,
    )
    problems = len([line for line in out.splitlines() if re.match(r"^\S+:\d+:\d+:", line)])
    if code != 0:
        raise StageFailed(f"antsibull-docs lint-collection-docs: {problems or 'some'} problems (exit {code})")
    return f"{len(modules())} modules, {len(roles())} roles: docs lint clean"


def stage_build(args) -> str:
    """Build the tarball, install it alone into a temporary path, and read every doc from there."""
    sync()
    with tempfile.TemporaryDirectory(prefix="portsec-build-") as tmp:
        tmp = pathlib.Path(tmp)
        run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(tmp / "dist")], cwd=TREE)
        tarballs = list((tmp / "dist").glob("portsec-openstack-*.tar.gz"))
        if len(tarballs) != 1:
            raise StageFailed(f"expected one tarball, found {len(tarballs)}")
        tarball = tarballs[0]
        with tarfile.open(tarball) as tar:
            names = tar.getnames()
        unwanted = r"^(\.venv|\.venvs|build|tools|\.git|\.ansible)(/|$)|^tests/(output|cloud/\.state)(/|$)"
        leaked = sorted({n.split("/")[0] for n in names if re.match(unwanted, n)})
        if leaked:
            raise StageFailed(f"{tarball.name} contains {', '.join(leaked)}: extend build_ignore in galaxy.yml")
        # --no-deps: Galaxy is out of reach; openstack.cloud is the one bundled with the ansible package.
        run(["ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", str(tmp / "install"), str(tarball)])
        # Only the installed copy (and the ansible package's collections) may be found, not build/.
        env = {"ANSIBLE_COLLECTIONS_PATH": str(tmp / "install"), "ANSIBLE_NOCOLOR": "1"}
        problems = []
        for module in modules():
            code, out = run(["ansible-doc", f"{FQCN}.{module}"], env=env, check=False, echo=False)
            if code != 0 or f"{FQCN}.{module}" not in out or ours_complained(out):
                print(out)
                problems.append(f"module {module}")
        for name in filters():
            code, out = run(["ansible-doc", "-t", "filter", f"{FQCN}.{name}"], env=env, check=False, echo=False)
            if code != 0 or f"{FQCN}.{name}" not in out or ours_complained(out):
                print(out)
                problems.append(f"filter {name}")
        for role in roles():
            code, out = run(["ansible-doc", "-t", "role", f"{FQCN}.{role}"], env=env, check=False, echo=False)
            if code != 0 or f"{FQCN}.{role}" not in out or ours_complained(out):
                print(out)
                problems.append(f"role {role}")
        code, out = run(["ansible-doc", "-l", FQCN], env=env, check=False)
        listed = set(re.findall(rf"^{re.escape(FQCN)}\.(\w+)", out, re.M))
        missing = sorted(set(modules()) - listed)
        if code != 0 or missing:
            problems.append(f"ansible-doc -l {FQCN} misses {', '.join(missing) or 'everything'}")
        # What Galaxy runs when the tarball is published, and what an execution-environment build
        # reads from it (tools/galaxy_checks.py, in its own pinned venv).
        import galaxy_checks  # pylint: disable=import-outside-toplevel

        try:
            galaxy = galaxy_checks.run(tarball)
            print(f"--- {galaxy}", flush=True)
        except RuntimeError as exc:
            problems.append(str(exc))
            galaxy = ""
        if problems:
            raise StageFailed(f"{len(problems)} problems: {'; '.join(problems)}")
        return (f"{tarball.name} ({len(names)} files) installed; ansible-doc read {len(modules())} modules, "
                f"{len(filters())} filters, {len(roles())} roles; -l lists {len(listed)}; {galaxy}")


def ours_complained(output: str) -> bool:
    """A warning or error from ansible-doc about portsec.openstack (not about ansible-core's own internals)."""
    return any(re.match(r"^\[(WARNING|ERROR)\]", line) and "portsec" in line for line in output.splitlines())


def stage_docs(args) -> str:
    """Fail when docs/reference differs from what the code generates (`make docs` refreshes it)."""
    sync()
    with tempfile.TemporaryDirectory(prefix="portsec-docs-") as tmp:
        fresh = pathlib.Path(tmp) / "reference"
        generate_docs(fresh)
        committed = ROOT / "docs" / "reference"
        stale = compare_trees(committed, fresh)
        if stale:
            raise StageFailed(f"docs/reference is stale ({len(stale)} files: {', '.join(stale[:5])}); run `make docs` and commit")
        files = sum(1 for path in fresh.rglob('*') if path.is_file())
    # docs/matrix.md's table is generated from the matrix's expected table (tools/matrix_doc.py).
    code, out = run([sys.executable, str(ROOT / "tools" / "matrix_doc.py"), "--check"], check=False, echo=False)
    if code != 0:
        raise StageFailed(out.strip() or f"tools/matrix_doc.py --check exited {code}")
    return f"docs/reference up to date ({files} files), docs/matrix.md up to date"


def generate_docs(dest: pathlib.Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    run(
        ["antsibull-docs", "collection", "--use-current", "--squash-hierarchy", "--output-format", "simplified-rst",
         "--no-add-antsibull-docs-version", "--fail-on-error", "--cleanup", "everything",
         "--dest-dir", str(dest), FQCN],
        env={"ANSIBLE_COLLECTIONS_PATH": str(BUILD)},
    )


def compare_trees(left: pathlib.Path, right: pathlib.Path) -> list[str]:
    """Relative paths that differ, or exist on one side only."""
    def files(base):
        return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()} if base.is_dir() else set()
    lhs, rhs = files(left), files(right)
    differ = sorted(lhs ^ rhs)
    differ += sorted(p for p in lhs & rhs if not filecmp.cmp(left / p, right / p, shallow=False))
    return differ


def cloud_errors(log_dir: pathlib.Path, per_log: int = 1, width: int = 240) -> list[str]:
    """The last ERROR/CRITICAL lines (or OVS |ERR|/|EMER|) of each local cloud log, shortened."""
    found = []
    for log in sorted(log_dir.glob("*.log")):
        try:
            lines = log.read_text(errors="replace").splitlines()
        except OSError:
            continue
        # an OpenStack error line with a message (not a traceback's frame or blank tail), or OVS's
        errors = [line.strip() for line in lines
                  if (re.search(r" (ERROR|CRITICAL) \S+ \S", line) or re.search(r"\|(ERR|EMER)\|", line))
                  and not re.search(r"Traceback \(most recent call last\)|Could not load 'oslo_cache.memcache_pool'", line)]
        found.extend(f"  {log.stem}: {line[:width]}" for line in errors[-per_log:])
    return (["errors in the local cloud's logs (last of each):"] + found) if found else []


def stopped_processes(cloud: pathlib.Path) -> tuple[list[str], str]:
    """`cloud status` read once: the names of the stopped processes, and its 'N/M processes running' line."""
    state = cloud_state(cloud)
    if state is None:
        return ["(cloud status --json gave no answer)"], "processes running: unknown"
    stopped = [name for name, proc in state["processes"].items() if not proc["running"]]
    return stopped, f"{state['running']}/{state['total']} processes running"


def cloud_state(cloud: pathlib.Path) -> dict | None:
    """`cloud status --json`: per process running, pid, restarts (by its monitor), last_restart."""
    out = subprocess.run([str(cloud), "status", "--json"], capture_output=True, text=True, check=False).stdout
    try:
        return json.loads(out)
    except ValueError:
        return None


def last_log_line(log_dir: pathlib.Path, name: str) -> str:
    """The last error line of a process's log, or its last line."""
    try:
        lines = [line.strip() for line in (log_dir / f"{name}.log").read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    errors = [line for line in lines if re.search(r" (ERROR|CRITICAL) \S+ \S|\|(ERR|EMER|WARN)\|", line)]
    return ((errors or lines or ["(empty log)"])[-1])[:240]


def crashes_between(before: dict | None, after: dict | None, log_dir: pathlib.Path) -> list[str]:
    """The test-bed processes that died, or that their monitor restarted (a crash signal), between
    two `cloud status --json` readings: one line each, with its log line."""
    if before is None or after is None:
        return ["the local cloud's status could not be read (cloud status --json)"]
    found = []
    for name, now in after["processes"].items():
        was = before["processes"].get(name, {})
        if was.get("running") and not now["running"]:
            found.append(f"{name} stopped: {last_log_line(log_dir, name)}")
            continue
        same_monitor = was.get("pid") == now["pid"]
        new_restarts = now["restarts"] - (was.get("restarts", 0) if same_monitor else 0)
        if new_restarts > 0:
            found.append(f"{name} crashed and its monitor restarted it ({new_restarts}x): {now['last_restart']}")
    return found


def revive_cloud(cloud: pathlib.Path, target: str) -> None:
    """Before a target: if a process of the local cloud has stopped, say so, keep it for the end of
    the log, and make the cloud whole again (cloud start), so that one crash of the test bed is
    reported once rather than failing every target after it."""
    stopped, count = stopped_processes(cloud)
    if not stopped:
        return
    note = f"before {target}: local cloud process(es) stopped: {', '.join(stopped)} ({count}); started again"
    print(f"--- {note}", flush=True)
    CLOUD_NOTES.append(note)
    run(cloud_start(cloud), check=False)


def stage_integration(args) -> str:
    """Start the local cloud once, then run every target (or --target) with ansible-test integration."""
    targets_dir = ROOT / "tests" / "integration" / "targets"
    targets = sorted(p.name for p in targets_dir.glob("*") if p.is_dir()) if targets_dir.is_dir() else []
    if args.target:
        unknown = sorted(set(args.target) - set(targets))
        if unknown:
            raise StageFailed(f"no such integration target: {', '.join(unknown)}")
        targets = args.target
    if not targets:
        raise StageFailed("no integration targets under tests/integration/targets")
    cloud = ROOT / "tests" / "cloud" / "cloud"
    if not os.access(cloud, os.X_OK):
        raise StageFailed("tests/cloud/cloud is missing or not executable: no local cloud to test against")
    log_dir = ROOT / "tests" / "cloud" / ".state" / "log"
    passed, failed, disabled, runnable = [], [], [], []
    for target in targets:
        aliases = targets_dir / target / "aliases"
        if not args.target and aliases.is_file() and "disabled" in aliases.read_text().split():
            # A target switched off on purpose is named in the summary, never silently skipped.
            print(f"--- integration target {target}: DISABLED by its aliases file, not run", flush=True)
            disabled.append(target)
            continue
        runnable.append(target)
    results: dict[str, tuple[int, str, float]] = {}
    ran: list[str] = []
    for index, (backend, only) in enumerate(backend_phases(args)):
        members = [t for t in runnable if only is None or t in only]
        named = {t: t if backend == "ovn" else f"{t}@{backend}" for t in members}
        print(f"--- integration on the local cloud's Neutron backend {backend}: {', '.join(members)}", flush=True)
        CLOUD_BACKEND[0] = backend
        started = time.monotonic()
        code, out = finish_early_start() if EARLY_START and index == 0 else run(cloud_start(cloud), check=False)
        print(f"--- local cloud on {backend}: start exit {code} in {time.monotonic() - started:.0f}s", flush=True)
        if code == 0 and not (ROOT / CONFIG).is_file():
            code, out = 1, f"the local cloud did not write {CONFIG}"
        if code != 0:
            for target in members:
                results[named[target]] = (code, out, 0.0)
                ran.append(named[target])
            FAILURES.append(f"tests/cloud/cloud start --backend {backend} exited {code}: {last_line(out)}")
            continue
        sync()  # brings the fresh integration_config.yml into the build tree
        results.update(run_phase(members, named, cloud, log_dir, args))
        ran.extend(named[t] for t in members)
    print("--- integration targets, seconds (lane):", flush=True)
    for target in ran:
        code, out, elapsed = results[target]
        (passed if code == 0 else failed).append(target)
        retried = probes_retried(out)
        print(f"    {target:<28} {elapsed:6.0f}s  {'ok' if code == 0 else 'FAILED'}{budget_note('targets', target, elapsed)}"
              + (f"  probes retried: {retried}" if retried is not None else ""), flush=True)
        if code != 0 and elapsed:
            reasons = failed_tasks(out) or [last_line(out)]
            FAILURES.append(f"{target} ({elapsed:.0f}s):")
            FAILURES.extend(f"  {reason}" for reason in reasons)
    summary = f"{len(passed)} targets passed, {len(failed)} failed" + (f" ({', '.join(failed)})" if failed else "")
    summary += f", crashes: {len(CRASHES)}"
    if disabled:
        summary += f", {len(disabled)} disabled ({', '.join(disabled)})"
    if failed:
        # What the cloud looked like after the failures: a stopped service explains many at once.
        stopped, count = stopped_processes(cloud)
        CLOUD_NOTES.append(f"local cloud after the run: {count}" + (f"; stopped: {', '.join(stopped)}" if stopped else ""))
        CLOUD_NOTES.extend(cloud_errors(log_dir))
        raise StageFailed(summary)
    return summary


# The ML2/OVS backends of the local cloud (tests/cloud/cloud start --backend) on which a whole
# `make test` runs ML2OVS_TARGETS first, before every target runs on OVN (so the cloud ends on
# OVN). The openvswitch driver only: the matrix takes about 6 minutes per backend, and the issue
# gives both ML2/OVS backends 8 minutes together; the iptables_hybrid driver runs by name
# (`--backend ovs-hybrid`, README). PORTSEC_TEST_BACKENDS overrides the list ("ovs,ovs-hybrid"
# for both, "" for none); `--backend` runs the selected targets on one backend only.
ML2OVS_BACKENDS = "ovs"
# The matrix, and the targets of the two modules that write ports, each of which touches
# everything its module does (pairs added, removed and exclusive; port security off and on with
# the guard; groups added, removed and exact; bulk; bad input; check and diff mode): they run in
# the lane beside the matrix, so they cost the phase little time.
ML2OVS_TARGETS = ["dataplane_matrix", "port_security", "allowed_address_pair"]
CLOUD_BACKEND = ["ovn"]  # the backend the targets run on now: revive_cloud starts this one


def backend_phases(args) -> list[tuple[str, list[str] | None]]:
    """[(backend, the targets to run there, None: all selected)], in order."""
    if args.backend:
        return [(args.backend, None)]
    if args.target:
        return [("ovn", None)]
    extra = [b for b in os.environ.get("PORTSEC_TEST_BACKENDS", ML2OVS_BACKENDS).split(",") if b]
    return [(backend, ML2OVS_TARGETS) for backend in extra] + [("ovn", None)]


def cloud_start(cloud: pathlib.Path) -> list[str]:
    return [str(cloud), "start", "--backend", CLOUD_BACKEND[0]]


def run_phase(members: list[str], named: dict[str, str], cloud: pathlib.Path, log_dir: pathlib.Path, args) -> dict:
    """The targets of one backend, in two lanes side by side when there are several."""
    results: dict[str, tuple[int, str, float]] = {}
    lanes = plan_lanes(members)
    if len(lanes) > 1:
        ansible_test_key_pair()
    if len(lanes) == 1:
        for target in lanes[0][1]:
            results[named[target]] = run_one(target, cloud, log_dir, args, lane="")
    else:
        print("--- integration lanes, run side by side: "
              + "; ".join(f"{name}: {', '.join(lane)}" for name, lane in lanes), flush=True)
        lane_results: dict[str, tuple[int, str, float]] = {}
        threads = [threading.Thread(target=run_lane, args=(name, lane, cloud, log_dir, args, lane_results)) for name, lane in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.update({named[t]: r for t, r in lane_results.items()})
    return results


PRINT_LOCK = threading.Lock()


# The time budget of make test, per stage and per integration target (seconds, 2 cores, a fresh
# clone, pip's and apt's caches warm): what the README's table says. A run prints each figure
# next to its budget and names what went over at its end. The lanes are planned from the
# targets' budgets. Later work that adds tests takes its share from the room the README gives.
BUDGET = {
    "stages": {"ansible-lint": 90, "yamllint": 10, "ruff": 5, "changelog": 5, "sanity": 90, "units": 20,
               "compat": 150, "docs-lint": 20, "build": 90, "docs": 10, "integration": 2210},
    # target@backend: a target on an ML2/OVS backend of the local cloud (ML2OVS_BACKENDS)
    "targets": {"cases": 1400, "dataplane_matrix": 560, "dataplane_matrix@ovs": 560, "dataplane_matrix@ovs-hybrid": 480,
                "port_security@ovs": 200, "allowed_address_pair@ovs": 210,
                "port_security@ovs-hybrid": 200, "allowed_address_pair@ovs-hybrid": 210,
                "reliability": 420, "port_security": 170,
                "allowed_address_pair": 180, "reachability": 180, "port_security_info": 200,
                "local_cloud": 130, "guest_addressing_netns": 60, "role_argument_specs": 20,
                "oldest_control_node": 90},
}
# 30 minutes, the 4 the compat checks (stage compat, Galaxy's checks in build, oldest_control_node)
# may add, the 8 of the ML2/OVS phase (dataplane_matrix@ovs, then the switch back to OVN), and the
# 3 of the port modules' targets on ML2/OVS beside it and the backend detection checks
BUDGET["whole"] = 2700
OVER_BUDGET: list[str] = []


def budget_note(kind: str, name: str, seconds: float) -> str:
    """' (budget N s)' or ' (budget N s: OVER)'; an over-budget figure is kept for the end of the log."""
    budget = BUDGET[kind].get(name)
    if budget is None:
        return " (no budget)"
    if seconds > budget:
        OVER_BUDGET.append(f"{kind[:-1]} {name}: {seconds:.0f}s, budget {budget}s")
        return f" (budget {budget}s: OVER)"
    return f" (budget {budget}s)"


def ansible_test_key_pair() -> None:
    """Create the SSH key pair every ansible-test run looks for (~/.ansible/test/id_rsa and .pub)
    before the lanes start, as ansible-test makes it. On a machine where it is missing, two runs
    starting together would both call ssh-keygen, and the second one fails on the file the first
    one just wrote ("id_rsa already exists. Overwrite (y/n)?")."""
    key = pathlib.Path.home() / ".ansible" / "test" / "id_rsa"
    pub = key.with_name("id_rsa.pub")
    if key.is_file() and pub.is_file():
        return
    key.parent.mkdir(parents=True, exist_ok=True)
    key.unlink(missing_ok=True)
    pub.unlink(missing_ok=True)
    run(["ssh-keygen", "-m", "PEM", "-q", "-t", "rsa", "-N", "", "-f", str(key)])
    # as ansible-test does: the PEM header that paramiko reads
    key.write_text(re.sub(r"(BEGIN|END) PRIVATE KEY", r"\1 RSA PRIVATE KEY", key.read_text()))


def plan_lanes(targets: list[str]) -> list[tuple[str, list[str]]]:
    """Two lanes that run side by side, filled longest target first (by budget) into the lane with
    the least work. Targets share nothing but the cloud (each has its own name prefix, network
    and guests), and most of their time is spent waiting on Neutron, Nova, OVN or a probe's
    timeout. PORTSEC_TEST_LANES=1 runs them one after the other, in name order."""
    if os.environ.get("PORTSEC_TEST_LANES", "2") == "1" or len(targets) < 2:
        return [("serial", targets)]
    lanes: list[tuple[str, list[str]]] = [("1", []), ("2", [])]
    load = [0, 0]
    for target in sorted(targets, key=lambda t: -BUDGET["targets"].get(t, 100)):
        lane = load.index(min(load))
        lanes[lane][1].append(target)
        load[lane] += BUDGET["targets"].get(target, 100)
    return [lane for lane in lanes if lane[1]]


def run_lane(name: str, members: list[str], cloud: pathlib.Path, log_dir: pathlib.Path, args, results: dict) -> None:
    for target in members:
        results[target] = run_one(target, cloud, log_dir, args, lane=name)


def probes_retried(output: str) -> int | None:
    """The sum of the 'probes retried: N' lines a target printed (None: it printed none)."""
    counts = [int(n) for n in re.findall(r"probes retried: (\d+)", output)]
    return sum(counts) if counts else None


def run_one(target: str, cloud: pathlib.Path, log_dir: pathlib.Path, args, lane: str) -> tuple[int, str, float]:
    """One target, with the crash check around it: (exit code, output, seconds). In a lane, its
    output is printed in one block when it ends."""
    where = f" (lane {lane})" if lane else ""
    print(f"--- integration target {target}{where}", flush=True)
    revive_cloud(cloud, target)
    started = time.monotonic()
    for attempt in (1, 2):
        # Each test-bed daemon's liveness and restart count before and after the target: a
        # crash during it is named and counted, the cloud made whole, and the target run once
        # more (a result taken while the test bed was broken is no evidence either way). With
        # lanes, a crash falls in the window of each target running then, and each runs again.
        before = cloud_state(cloud)
        code, out = run_target(target, args, echo=not lane)
        if lane:
            with PRINT_LOCK:
                print(f"--- output of integration target {target}{where}, attempt {attempt} ---")
                sys.stdout.write(out)
                print(f"--- end of the output of {target} ---", flush=True)
        crashed = crashes_between(before, cloud_state(cloud), log_dir)
        if not crashed:
            break
        for line in crashed:
            CRASHES.append(f"during {target} (run {attempt}): {line}")
            print(f"--- CRASH during {target}: {line}", flush=True)
        code = code or 1  # a second crash leaves the target failed
        run(cloud_start(cloud), check=False)
        if attempt == 1:
            print(f"--- integration target {target}: the local cloud is whole again; running the target once more", flush=True)
    elapsed = time.monotonic() - started
    print(f"--- integration target {target}{where}: {'ok' if code == 0 else 'FAILED'} in {elapsed:.0f}s", flush=True)
    return code, out, elapsed


def start_cloud_early(args) -> None:
    """Begin `cloud start` in the background, its output in build/cloud-start.log: the local
    cloud's start (mostly waits: pip, services coming up) overlaps the static stages, which do
    not use it. The integration stage waits for it (finish_early_start)."""
    cloud = ROOT / "tests" / "cloud" / "cloud"
    if not os.access(cloud, os.X_OK):
        return
    BUILD.mkdir(parents=True, exist_ok=True)
    log = BUILD / "cloud-start.log"
    handle = log.open("w")
    CLOUD_BACKEND[0] = backend_phases(args)[0][0]
    print(f"$ {' '.join(cloud_start(cloud)[1:])}    (in the background while the static stages run; output in {log.relative_to(ROOT)})", flush=True)
    proc = subprocess.Popen(cloud_start(cloud), cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    EARLY_START.update(proc=proc, log=log, handle=handle, started=time.monotonic())


def finish_early_start() -> tuple[int, str]:
    """Wait for the background `cloud start`; print its output; (exit code, output)."""
    proc = EARLY_START["proc"]
    if proc.poll() is None:
        print("--- waiting for the local cloud's start (begun before the static stages)", flush=True)
    code = proc.wait()
    EARLY_START["handle"].close()
    out = EARLY_START["log"].read_text(errors="replace")
    sys.stdout.write(out)
    print(f"--- local cloud start: exit {code}, {time.monotonic() - EARLY_START['started']:.0f}s after it began", flush=True)
    return code, out


def run_target(target: str, args, echo: bool = True) -> tuple[int, str]:
    """One ansible-test integration target; ansible-test hands tests/integration/integration_config.yml
    to it as vars_files. A target with a ``controller_venv`` file (a tools/pins name) runs under
    that venv's ansible-test and Python, from its own copy of the build tree."""
    ansible_test, cwd, env = "ansible-test", TREE, None
    pinned = ROOT / "tests" / "integration" / "targets" / target / "controller_venv"
    if pinned.is_file():
        import compat  # pylint: disable=import-outside-toplevel

        name = pinned.read_text().split()[0]
        venv = compat.prepare(compat.Leg(name))
        cwd = compat.leg_tree(f"{name}-integration")
        ansible_test = str(venv / "bin" / "ansible-test")
        env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}
    code, out = run(
        [ansible_test, "integration", "--local", "--color", "no", "-v", "--allow-destructive"]
        + (["--allow-disabled"] if args.target else []) + [target],
        cwd=cwd, env=env, check=False, echo=echo,
    )
    if "All targets skipped" in out:  # an alias (disabled, unsupported, ...) excluded it: nothing ran
        code = code or 1
    return code, out


STAGES = {
    "ansible-lint": stage_ansible_lint,
    "yamllint": stage_yamllint,
    "ruff": stage_ruff,
    "changelog": stage_changelog,
    "sanity": stage_sanity,
    "units": stage_units,
    "compat": stage_compat,
    "docs-lint": stage_docs_lint,
    "build": stage_build,
    "docs": stage_docs,
    "integration": stage_integration,
}
GROUPS = {"lint": ["ansible-lint", "yamllint", "ruff", "changelog"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="", help="comma-separated stages: " + ", ".join([*STAGES, *GROUPS]))
    parser.add_argument("--target", default="", help="comma-separated integration targets (integration stage)")
    parser.add_argument("--backend", default="", choices=["", "ovn", "ovs", "ovs-hybrid"],
                        help="run the integration targets on this Neutron backend of the local cloud only")
    parser.add_argument("--generate-docs", action="store_true", help="regenerate docs/reference and exit")
    args = parser.parse_args()
    args.target = [t for t in args.target.split(",") if t]
    os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

    if args.generate_docs:
        sync()
        dest = ROOT / "docs" / "reference"
        generate_docs(dest)
        print(f"regenerated {dest.relative_to(ROOT)}")
        run([sys.executable, str(ROOT / "tools" / "matrix_doc.py")])
        return 0

    selected = []
    for name in [s for s in args.stage.split(",") if s] or list(STAGES):
        for stage in GROUPS.get(name, [name]):
            if stage not in STAGES:
                parser.error(f"unknown stage {stage!r}; choose from {', '.join([*STAGES, *GROUPS])}")
            selected.append(stage)

    results = []
    started_all = time.monotonic()
    if "integration" in selected and selected[0] != "integration":
        start_cloud_early(args)
    for name in selected:
        print(f"\n===== stage {name} =====", flush=True)
        started = time.monotonic()
        try:
            ok, summary = True, STAGES[name](args)
        except StageFailed as exc:
            ok, summary = False, str(exc)
        except (OSError, subprocess.CalledProcessError) as exc:
            ok, summary = False, f"could not run: {exc}"
        elapsed = time.monotonic() - started
        results.append((name, ok, elapsed, summary))
        STAGE_RESULTS[name] = (ok, summary)
        print(f"===== stage {name}: {'PASSED' if ok else 'FAILED'} in {elapsed:.0f}s{budget_note('stages', name, elapsed)}: {summary}", flush=True)

    total = time.monotonic() - started_all
    print("\n===== summary =====")
    for name, ok, elapsed, summary in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name:<13} {elapsed:6.0f}s  {summary}")
    whole = f" (budget {BUDGET['whole']}s)" if not args.stage else ""
    if whole and total > BUDGET["whole"]:
        OVER_BUDGET.append(f"whole make test: {total:.0f}s, budget {BUDGET['whole']}s")
        whole = whole[:-1] + ": OVER)"
    print(f"total {total:.0f}s ({total / 60:.1f} min){whole}")
    if OVER_BUDGET:
        print("over budget (README, 'Time budget'): " + "; ".join(OVER_BUDGET))
    failed = sum(1 for r in results if not r[1])
    if CLOUD_NOTES or FAILURES or CRASHES:
        print("\n===== integration notes: the local cloud, then each failed target's last failed tasks =====")
        print("\n".join(CLOUD_NOTES + [f"crash {line}" for line in CRASHES] + FAILURES))
    if any(result[0] == "integration" for result in results):
        print(f"crashes: {len(CRASHES)}" + "".join(f"\n  {line}" for line in CRASHES))
    print(f"stages: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
