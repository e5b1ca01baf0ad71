"""Runs started from the command line are first-class runs of the instance: recorded under the
code location the UI serves (so they show under their job, on its timeline, and can be
re-executed from the UI), and every way of starting a run waits for the warehouse turn, Dagster's
own ``dagster asset materialize`` included. The command line is one module with no import cycle.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, subprocess_env

pytestmark = pytest.mark.slow  # the README's test command runs it; `pytest -m "not slow"` leaves it out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())["data"]


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "var"
    (home / "landing").mkdir(parents=True)
    return home


def test_a_command_line_run_shows_under_its_job_and_can_be_re_executed(home):
    env = subprocess_env(home)
    proc = subprocess.run([sys.executable, "-m", "pipelines", "job", "weekly_stock", "--start", "2023-01-02"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert "run " in proc.stdout, proc.stdout + proc.stderr
    run_id = proc.stdout.split("run ")[1].split()[0]

    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        run = instance.get_run_by_id(run_id)
        assert run.remote_job_origin.location_name == "distributor_dwh"
        assert run.tags["dagster/asset_partition_range_start"] == "2023-01-02"
    # the UI the README starts (dwh.py ui: the code location of pyproject.toml), read through its API
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        selector = '{repositoryLocationName: "distributor_dwh", repositoryName: "__repository__", pipelineName: "weekly_stock"}'
        data = _graphql(port, "{ pipelineOrError(params: %s) { __typename ... on Pipeline { runs { runId } } } }" % selector)
        assert run_id in [r["runId"] for r in data["pipelineOrError"]["runs"]], data
        relaunch = _graphql(port, 'mutation { launchPipelineReexecution(reexecutionParams: {parentRunId: "%s", '
                                  'strategy: ALL_STEPS}) { __typename ... on LaunchRunSuccess { run { runId } } '
                                  '... on PythonError { message } } }' % run_id)
        assert relaunch["launchPipelineReexecution"]["__typename"] == "LaunchRunSuccess", relaunch
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_dagster_asset_materialize_waits_for_the_warehouse_turn(home):
    """While another process holds the turn, Dagster's own CLI run waits; released, it runs."""
    from filelock import FileLock

    from pipelines.turn import TURN_LOCK_FILE

    env = subprocess_env(home)
    subprocess.run([sys.executable, "-m", "pipelines", "instance"], cwd=REPO, env=env, check=True, capture_output=True)
    lock = FileLock(str(home / "dagster_home" / TURN_LOCK_FILE))
    lock.acquire()
    try:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                                 "pipelines.definitions", "--select", "raw/stock_reports", "--partition", "2023-01-02"],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(25)
        assert proc.poll() is None, proc.stdout.read()[-3000:]  # still waiting for the turn
    finally:
        lock.release()
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert "waiting for the warehouse" in out


def _imports(package_root: Path, packages: list[str]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (absolute or relative, at any depth of the file)."""
    import ast

    mods = {}
    for pkg in packages:
        for path in (package_root / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(package_root).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = mod.split(".")[: len(mod.split(".")) - node.level + (1 if is_pkg else 0)]
                    base = ".".join(parts + ([base] if base else []))
                # `from X import a`: the module X.a when there is one, else X
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for n in names:
                while n and n not in mods:
                    n = n.rpartition(".")[0]
                if n and n != mod:
                    graph[mod].add(n)
    return graph


def test_no_import_cycle_in_the_packages():
    graph = _imports(REPO, ["pipelines", "sample_data"])
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n] if n in stack else [m, n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == [], cycles
    assert not any(m.startswith("pipelines") for m in graph if m.startswith("sample_data") and graph[m] & {
        x for x in graph if x.startswith("pipelines")})  # the generator stands apart from the pipeline
