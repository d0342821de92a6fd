"""What ``make up`` starts, end to end, with the Dagster instance in the real PostgreSQL.

One stack for the module, as real subprocesses run the same commands as ``make up``:
``pas instance``, then ``dagster-daemon run -w workspace.yaml`` and ``pas-serve -w
workspace.yaml`` behind ``API_TOKEN``, with ``DAGSTER_PG_URL`` naming a fresh database and a
temporary ``PAS_HOME``/``DAGSTER_HOME`` in sample mode with a small universe.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
import yaml

from pas_pipeline.defs.definitions import build_definitions
from pas_pipeline.strategies.registry import STRATEGIES
from pas_pipeline_tests.conftest import fresh_postgres_database
from pas_pipeline_tests.pipeline_fixtures import SMALL_UNIVERSE, small_settings

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKSPACE = ("-w", "workspace.yaml")
"""The workspace arguments of both ``make up`` commands (run from the repository root)."""
TOKEN = "make-up-test-token-0123456789"
"""The ``API_TOKEN`` of the served app (a test value)."""
LOCATION = "pas_pipeline"
"""The code location ``workspace.yaml`` names."""
REPOSITORY = "__repository__"
"""The repository name Dagster gives a ``Definitions`` object."""
REBALANCE_SCHEDULE = f"{STRATEGIES[0].name}_schedule"
"""A strategy's rebalance schedule (``build_schedule`` in ``pas_pipeline.defs.strategies``)."""
DAEMONS = {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"}
"""The ``daemon_type`` of the daemons whose heartbeats must reach PostgreSQL."""

READY_SECONDS = 60
RUN_SECONDS = 120
STOP_SECONDS = 20
POLL_SECONDS = 0.25
HTTP_TIMEOUT_SECONDS = 30
LOG_TAIL_CHARS = 6000

LAUNCH_RUN = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""
RUN_STATUS = """
query Status($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } ... on Error { message } }
}
"""
RUN_QUEUE = "{ instance { runQueuingSupported runQueueConfig { maxConcurrentRuns } } }"
SCHEDULES = """
{
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } schedules { name } } }
    ... on PythonError { message }
  }
}
"""

T = TypeVar("T")


@dataclass
class Stack:
    base_url: str
    pg_url: str
    dagster_home: Path
    logs: dict[str, Path]
    processes: dict[str, subprocess.Popen[bytes]]

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: bool = True
    ) -> httpx.Response:
        return httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.bearer if token else {},
            timeout=HTTP_TIMEOUT_SECONDS,
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a successful, authorised GraphQL request."""
        response = self.graphql(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]

    def output(self) -> str:
        """The tail of each process's output (for failure messages)."""
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace") if path.exists() else ""
            code = self.processes[name].poll() if name in self.processes else None
            parts.append(f"----- {name} (exit code {code}) -----\n{text[-LOG_TAIL_CHARS:]}")
        return "\n".join(parts)

    def wait_for(self, what: str, check: Callable[[], T | None], seconds: float) -> T:
        """Poll ``check`` until it returns a value other than ``None`` (failing with the
        processes' output if one of them exits or ``seconds`` pass)."""
        deadline = time.monotonic() + seconds
        while True:
            result = check()
            if result is not None:
                return result
            exited = [name for name, proc in self.processes.items() if proc.poll() is not None]
            if exited or time.monotonic() > deadline:
                reason = f"{', '.join(exited)} exited" if exited else f"{seconds:.0f} s passed"
                pytest.fail(f"waiting for {what}: {reason}\n{self.output()}")
            time.sleep(POLL_SECONDS)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(home: Path, pg_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PG_URI", "PAS_BROKER", "PAS_PRICE_SOURCE", "PAS_ALERT_WEBHOOK_URL"):
        env.pop(name, None)
    env.update(
        PAS_HOME=str(home / "pas_home"),
        DAGSTER_HOME=str(home / "dagster"),
        PAS_DATA_MODE="sample",
        PAS_SAMPLE_UNIVERSE_SIZE=str(SMALL_UNIVERSE),
        DAGSTER_PG_URL=pg_url,
        API_TOKEN=TOKEN,
    )
    return env


def _start(name: str, args: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    with (logs / f"{name}.log").open("wb") as log:
        # Its own session, so a stuck process and the code servers it started can be
        # killed together.
        return subprocess.Popen(
            args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _group(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` that have not exited (zombies excluded)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != "Z" and int(group) == pgid:
            members.append(int(stat.parent.name))
    return members


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each process; then wait until each one's process group (the code servers
    it started, and their runs) has exited, SIGKILL to any group still there in time."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    while any(proc.poll() is None or _group(proc.pid) for proc in processes):
        if time.monotonic() > deadline:
            for proc in processes:
                if _group(proc.pid):
                    os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(POLL_SECONDS)
    for proc in processes:
        proc.wait()


def _server_info(stack: Stack) -> bool | None:
    try:
        response = httpx.get(f"{stack.base_url}/server_info", headers=stack.bearer, timeout=5)
    except httpx.TransportError:
        return None
    return True if response.status_code == 200 else None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``make up`` with ``DAGSTER_PG_URL`` set, ready to answer; stopped after the module."""
    home = tmp_path_factory.mktemp("make_up")
    logs = home / "logs"
    logs.mkdir()
    with fresh_postgres_database() as pg_url:
        env = _environment(home, pg_url)
        prepared = subprocess.run(
            [BIN / "pas", "instance"], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert prepared.returncode == 0, prepared.stderr
        dagster_home = Path(prepared.stdout.strip())
        assert dagster_home == Path(env["DAGSTER_HOME"]).resolve()
        port = _free_port()
        stack = Stack(
            base_url=f"http://127.0.0.1:{port}",
            pg_url=pg_url,
            dagster_home=dagster_home,
            logs={name: logs / f"{name}.log" for name in ("daemon", "pas-serve")},
            processes={},
        )
        try:
            stack.processes["daemon"] = _start(
                "daemon", [str(BIN / "dagster-daemon"), "run", *WORKSPACE], env, logs
            )
            stack.processes["pas-serve"] = _start(
                "pas-serve",
                [str(BIN / "pas-serve"), "--host", "127.0.0.1", "--port", str(port), *WORKSPACE],
                env,
                logs,
            )
            stack.wait_for("the webserver", lambda: _server_info(stack), READY_SECONDS)
            yield stack
        finally:
            _stop(list(stack.processes.values()))


@pytest.fixture(autouse=True)
def _output_on_failure(request: pytest.FixtureRequest, stack: Stack) -> Iterator[None]:
    """Print the processes' output after a failing test (shown in its report)."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        sys.stderr.write(stack.output())


def _query(pg_url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql``; none while Dagster has not created the table yet."""
    with psycopg.connect(pg_url, connect_timeout=5) as conn:
        try:
            return conn.execute(sql, params).fetchall()
        except psycopg.errors.UndefinedTable:
            return []


def test_pas_instance_puts_the_instance_storage_in_postgres(stack: Stack) -> None:
    config = yaml.safe_load((stack.dagster_home / "dagster.yaml").read_text())

    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}


def test_graphql_needs_the_bearer_token(stack: Stack) -> None:
    refused = stack.graphql(RUN_QUEUE, token=False)
    served = stack.graphql(RUN_QUEUE)

    assert refused.status_code == 401
    assert refused.json() == {"error": "unauthorized"}
    assert served.status_code == 200
    assert served.json()["data"]["instance"] is not None


def test_the_daemons_heartbeats_are_stored_in_postgres(stack: Stack) -> None:
    def daemons() -> set[str] | None:
        found = {
            row[0] for row in _query(stack.pg_url, "select daemon_type from daemon_heartbeats")
        }
        return found if found >= DAEMONS else None

    stack.wait_for("the daemons' heartbeats", daemons, READY_SECONDS)


def test_a_run_launched_over_graphql_is_queued_dequeued_and_succeeds(stack: Stack) -> None:
    queue = stack.data(RUN_QUEUE)["instance"]
    assert queue["runQueuingSupported"] is True  # the QueuedRunCoordinator, from dagster.yaml
    assert queue["runQueueConfig"]["maxConcurrentRuns"] == 4
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": "set_trading_state_job",
        },
        "runConfigData": {
            "ops": {
                "set_trading_state": {"config": {"state": "REDUCE_ONLY", "reason": "make up test"}}
            }
        },
    }

    launched = stack.data(LAUNCH_RUN, {"executionParams": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    assert launched["run"]["status"] == "QUEUED"

    def finished() -> str | None:
        status = stack.data(RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        return status if status in {"SUCCESS", "FAILURE", "CANCELED"} else None

    assert stack.wait_for(f"run {run_id}", finished, RUN_SECONDS) == "SUCCESS", stack.output()
    runs = _query(stack.pg_url, "select status from runs where run_id = %s", (run_id,))
    events = _query(
        stack.pg_url,
        "select dagster_event_type from event_logs where run_id = %s "
        "and dagster_event_type is not null order by id",
        (run_id,),
    )
    assert runs == [("SUCCESS",)]
    kinds = [kind for (kind,) in events]
    assert {"PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_SUCCESS"} <= set(kinds), kinds
    # The webserver's QueuedRunCoordinator only enqueues; the daemon's run coordinator
    # dequeues the run by reporting it STARTING and launching it.
    assert kinds.index("PIPELINE_ENQUEUED") < kinds.index("PIPELINE_STARTING")
    assert kinds.index("PIPELINE_STARTING") < kinds.index("PIPELINE_SUCCESS")
    # the run process wrote its metrics; the served /metrics (behind the token) shows them
    scraped = httpx.get(f"{stack.base_url}/metrics", headers=stack.bearer, timeout=30)
    assert 'pas_trading_state{state="REDUCE_ONLY"} 1.0' in scraped.text


def test_the_definitions_schedules_are_listed_over_graphql(stack: Stack, tmp_path: Path) -> None:
    expected = {schedule.name for schedule in build_definitions(small_settings(tmp_path)).schedules}

    result = stack.data(SCHEDULES)["repositoriesOrError"]

    assert result["__typename"] == "RepositoryConnection", result
    [repository] = result["nodes"]
    assert repository["location"]["name"] == LOCATION
    listed = {schedule["name"] for schedule in repository["schedules"]}
    assert REBALANCE_SCHEDULE in listed
    assert listed == expected
