"""A real Dagster webserver (and daemon) in a test: temporary instance, loopback port, no leaks.

`dagster_server(target, with_daemon=...)` is a context manager that

* writes a temporary DAGSTER_HOME with a `dagster.yaml` (no telemetry; `DefaultRunCoordinator`
  without the daemon so launched runs start at once, `QueuedRunCoordinator` with it so the
  daemon both dequeues runs and drives backfills),
* starts `dagster-webserver` (and `dagster-daemon run`) from this interpreter's environment, bound
  to 127.0.0.1 on a free port, each in its own session with SIGINT's default handler restored,
* waits for `/server_info`, for the code location to load (raising its load error if it fails)
  and, with the daemon, for its heartbeats,
* and on exit stops everything with SIGINT, then SIGKILL after a timeout, including the code
  servers and run workers those processes spawned, and checks that nothing is left running.

`DagsterGraphQL` is a small client of the server's `/graphql` with the flows the UI offers:
launch a run of selected assets, launch a partition backfill, add dynamic partitions, wait for a
run or backfill to finish, read asset check results and materialized partitions. Field and
mutation names follow the schema of dagster-graphql 1.13.27.

`dagster_server_fixture(...)` builds a pytest fixture from the same arguments.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
TERMINAL_BACKFILL_STATUSES = frozenset(
    {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
)
# Daemons a backfill needs: the backfill loop submits runs, the queue loop starts them.
BACKFILL_DAEMONS = ("BACKFILL", "QUEUED_RUN_COORDINATOR")


def _bootstrap(preamble: str = "") -> str:
    """Python that runs a console script of this environment by its entry point.

    It first restores SIGINT's default Python handler: a process started from a shell job
    inherits SIGINT ignored, and then neither it nor anything it spawns would stop on SIGINT
    (SIGTERM is remapped by Dagster's CLIs). `preamble` runs before the entry point.
    """
    return (
        "import signal, sys\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        f"{preamble}"
        "from importlib.metadata import entry_points\n"
        "(entry,) = entry_points(group='console_scripts', name=sys.argv[1])\n"
        "sys.argv = sys.argv[1:]\n"
        "sys.exit(entry.load()())\n"
    )


class DagsterServerError(RuntimeError):
    """The webserver or daemon did not start, or a GraphQL call failed."""


# -- what to load -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeLocationTarget:
    """What the webserver and daemon load: exactly one of a module, a Python file or a workspace."""

    module_name: str | None = None
    python_file: Path | None = None
    workspace_file: Path | None = None
    working_directory: Path = REPO_ROOT

    def __post_init__(self) -> None:
        given = [self.module_name, self.python_file, self.workspace_file]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of module_name, python_file, workspace_file")

    def cli_args(self) -> list[str]:
        if self.workspace_file is not None:
            return ["-w", str(self.workspace_file)]
        if self.python_file is not None:
            return ["-f", str(self.python_file), "-d", str(self.working_directory)]
        return ["-m", str(self.module_name), "-d", str(self.working_directory)]


def write_instance_yaml(
    dagster_home: Path,
    *,
    queued: bool,
    max_concurrent_runs: int = 2,
    dequeue_interval_seconds: int = 1,
) -> Path:
    """Write `dagster.yaml` for a throwaway instance (sqlite storage under `dagster_home`)."""
    run_coordinator: dict[str, Any] = {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator" if queued else "DefaultRunCoordinator",
    }
    if queued:
        run_coordinator["config"] = {
            "max_concurrent_runs": max_concurrent_runs,
            "dequeue_interval_seconds": dequeue_interval_seconds,
        }
    config = {"telemetry": {"enabled": False}, "run_coordinator": run_coordinator}
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- processes ----------------------------------------------------------------------------------


@dataclass
class ManagedProcess:
    """A console script started in its own session; its log goes to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session makes it its group's leader

    def log_tail(self, characters: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""

    def stop(self, timeout: float) -> None:
        """SIGINT the process, then what is left of its group (code servers, run workers), then
        SIGKILL; raise if anything survives."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        if group_members(self.pgid):
            _signal_group(self.pgid, signal.SIGINT)
            _wait_until(lambda: not group_members(self.pgid), timeout=min(timeout, 10.0))
        if group_members(self.pgid):
            _signal_group(self.pgid, signal.SIGKILL)
            _wait_until(lambda: not group_members(self.pgid), timeout=10.0)
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)
        survivors = group_members(self.pgid)
        if survivors:
            raise DagsterServerError(f"{self.name}: processes {survivors} survived SIGKILL")


def start_console_script(
    script: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    preamble: str = "",
) -> ManagedProcess:
    """Start `script` (a console entry point of this environment) with `args`, in a new session.

    `preamble` is Python run in the child before the entry point.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [sys.executable, "-c", _bootstrap(preamble), script, *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ManagedProcess(name=script, popen=popen, log_path=log_path)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: ask the kernel whether anyone is left
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return sorted(members)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# -- GraphQL ----------------------------------------------------------------------------------


def asset_key_input(key: str | Sequence[str]) -> dict[str, list[str]]:
    """GraphQL `AssetKeyInput` from "a/b" or ["a", "b"]."""
    path = key.split("/") if isinstance(key, str) else list(key)
    return {"path": path}


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    tags: dict[str, str]
    start_time: float | None
    end_time: float | None


@dataclass(frozen=True)
class BackfillSummary:
    backfill_id: str
    status: str
    num_partitions: int | None
    runs: list[RunSummary]
    error: str | None


@dataclass(frozen=True)
class CheckResult:
    """The latest execution of one asset check, as the asset's Checks tab shows it."""

    asset_key: str
    name: str
    blocking: bool
    status: str | None  # SUCCEEDED, FAILED, EXECUTION_FAILED, SKIPPED, IN_PROGRESS; None: never ran
    passed: bool | None
    run_id: str | None
    description: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


_METADATA_FIELDS = """
  __typename label
  ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue }
  ... on TextMetadataEntry { text }
  ... on MarkdownMetadataEntry { mdStr }
  ... on BoolMetadataEntry { boolValue }
  ... on PathMetadataEntry { path }
  ... on UrlMetadataEntry { url }
  ... on JsonMetadataEntry { jsonString }
"""

_RUN_FIELDS = "runId status startTime endTime tags { key value }"


def _metadata_value(entry: Mapping[str, Any]) -> Any:
    for name in ("intValue", "floatValue", "text", "mdStr", "boolValue", "path", "url"):
        if name in entry:
            return entry[name]
    if "jsonString" in entry:
        return json.loads(entry["jsonString"])
    return None


def metadata_dict(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """{label: value} from GraphQL metadata entries."""
    return {entry["label"]: _metadata_value(entry) for entry in entries}


def _run_summary(run: Mapping[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=run["runId"],
        status=run["status"],
        tags={tag["key"]: tag["value"] for tag in run.get("tags", [])},
        start_time=run.get("startTime"),
        end_time=run.get("endTime"),
    )


def _expect(payload: Mapping[str, Any], typename: str, what: str) -> Mapping[str, Any]:
    """Return `payload` if it is a `typename`, else raise with the error GraphQL gave."""
    if payload.get("__typename") == typename:
        return payload
    message = payload.get("message") or json.dumps(payload)[:2000]
    raise DagsterServerError(f"{what}: {payload.get('__typename')}: {message}")


class DagsterGraphQL:
    """A tiny client of a webserver's `/graphql`, with the UI's flows as helpers."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST one query; return `data`, raising on transport or GraphQL errors."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:2000]
            raise DagsterServerError(f"GraphQL HTTP {err.code}: {detail}") from err
        if payload.get("errors"):
            raise DagsterServerError(f"GraphQL errors: {json.dumps(payload['errors'])[:3000]}")
        return payload["data"]

    # -- workspace ------------------------------------------------------------------------------
    def location_entries(self) -> list[dict[str, Any]]:
        data = self.graphql(
            """
            query { workspaceOrError { __typename
              ... on Workspace { locationEntries { name loadStatus
                locationOrLoadError { __typename
                  ... on RepositoryLocation { name repositories { name } }
                  ... on PythonError { message stack errorChain { error { message } } }
                } } }
              ... on PythonError { message }
            } }
            """
        )
        workspace = _expect(data["workspaceOrError"], "Workspace", "workspace")
        return list(workspace["locationEntries"])

    def wait_for_locations(self, timeout: float = 180.0) -> list[dict[str, Any]]:
        """Wait until every code location has loaded; raise its load error if one failed."""
        deadline = time.monotonic() + timeout
        while True:
            entries = self.location_entries()
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                for entry in entries:
                    loaded = entry["locationOrLoadError"] or {}
                    if loaded.get("__typename") != "RepositoryLocation":
                        causes = [
                            link["error"]["message"] for link in loaded.get("errorChain") or []
                        ]
                        stack = "".join(loaded.get("stack") or [])[-3000:]
                        raise DagsterServerError(
                            f"code location {entry['name']} failed to load: "
                            f"{loaded.get('message')}\n{stack}\ncaused by: {' / '.join(causes)}"
                        )
                return entries
            if time.monotonic() > deadline:
                raise DagsterServerError(f"code locations not loaded after {timeout}s: {entries}")
            time.sleep(0.5)

    def repository_selector(self) -> dict[str, str]:
        """The only repository of the only code location (what these tests serve)."""
        entries = self.wait_for_locations()
        location = entries[0]["locationOrLoadError"]
        return {
            "repositoryLocationName": location["name"],
            "repositoryName": location["repositories"][0]["name"],
        }

    def daemon_statuses(self) -> dict[str, dict[str, Any]]:
        data = self.graphql(
            """
            query { instance { daemonHealth { allDaemonStatuses {
              daemonType required healthy lastHeartbeatTime
            } } } }
            """
        )
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return {status["daemonType"]: status for status in statuses}

    def wait_for_daemons(self, daemon_types: Sequence[str], timeout: float = 120.0) -> None:
        def beating() -> bool:
            statuses = self.daemon_statuses()
            return all(
                statuses.get(kind, {}).get("lastHeartbeatTime") is not None for kind in daemon_types
            )

        if not _wait_until(beating, timeout=timeout, interval=0.5):
            raise DagsterServerError(
                f"daemons {list(daemon_types)} sent no heartbeat in {timeout}s: "
                f"{self.daemon_statuses()}"
            )

    # -- assets ---------------------------------------------------------------------------------
    def asset_nodes(self, asset_keys: Sequence[str]) -> list[dict[str, Any]]:
        data = self.graphql(
            """
            query ($keys: [AssetKeyInput!]) { assetNodes(assetKeys: $keys) {
              assetKey { path } jobNames groupName isPartitioned
              partitionDefinition { name type }
            } }
            """,
            {"keys": [asset_key_input(key) for key in asset_keys]},
        )
        nodes = data["assetNodes"]
        found = {"/".join(node["assetKey"]["path"]) for node in nodes}
        missing = [key for key in asset_keys if key not in found]
        if missing:
            raise DagsterServerError(f"assets not in the code location: {missing}")
        return nodes

    def asset_job_name(self, asset_keys: Sequence[str]) -> str:
        """The implicit asset job that can run all of `asset_keys` (what the UI launches)."""
        nodes = self.asset_nodes(asset_keys)
        common = set(nodes[0]["jobNames"]).intersection(*(node["jobNames"] for node in nodes))
        asset_jobs = sorted(name for name in common if name.startswith("__ASSET_JOB"))
        if not asset_jobs:
            raise DagsterServerError(f"no asset job holds all of {list(asset_keys)}")
        return asset_jobs[0]

    def launch_assets(
        self,
        asset_keys: Sequence[str],
        *,
        checks: Sequence[tuple[str, str]] | None = None,
        partition_key: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """launchRun over selected assets (their checks come along unless `checks` narrows them).

        `checks` is a list of (asset key, check name); pass it with `asset_keys=[]` to run only
        those checks, as the UI's "Execute" button on a check does.
        """
        job_keys = list(asset_keys) or sorted({asset for asset, _ in checks or []})
        selector: dict[str, Any] = {
            **self.repository_selector(),
            "jobName": self.asset_job_name(job_keys),
            "assetSelection": [asset_key_input(key) for key in asset_keys],
        }
        if checks is not None:
            selector["assetCheckSelection"] = [
                {"assetKey": asset_key_input(asset), "name": name} for asset, name in checks
            ]
        run_tags = dict(tags or {})
        if partition_key is not None:
            run_tags["dagster/partition"] = partition_key
        data = self.graphql(
            """
            mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) {
              __typename
              ... on LaunchRunSuccess { run { runId } }
              ... on Error { message }
              ... on PythonError { stack }
              ... on RunConfigValidationInvalid { errors { message } }
            } }
            """,
            {
                "params": {
                    "selector": selector,
                    "executionMetadata": {
                        "tags": [{"key": k, "value": v} for k, v in run_tags.items()]
                    },
                }
            },
        )
        result = _expect(data["launchRun"], "LaunchRunSuccess", f"launchRun {list(job_keys)}")
        return str(result["run"]["runId"])

    def launch_backfill(
        self,
        asset_keys: Sequence[str],
        partition_keys: Sequence[str],
        *,
        title: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """launchPartitionBackfill of `partition_keys` of `asset_keys`; the daemon runs it."""
        params: dict[str, Any] = {
            "assetSelection": [asset_key_input(key) for key in asset_keys],
            "partitionNames": list(partition_keys),
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        if title is not None:
            params["title"] = title
        data = self.graphql(
            """
            mutation ($params: LaunchBackfillParams!) {
              launchPartitionBackfill(backfillParams: $params) {
                __typename
                ... on LaunchBackfillSuccess { backfillId }
                ... on Error { message }
                ... on PythonError { stack }
              }
            }
            """,
            {"params": params},
        )
        result = _expect(
            data["launchPartitionBackfill"], "LaunchBackfillSuccess", "launchPartitionBackfill"
        )
        return str(result["backfillId"])

    def reexecute_run(self, parent_run_id: str, strategy: str = "FROM_FAILURE") -> str:
        """launchRunReexecution of a finished run (the UI's "Re-execute from failure")."""
        data = self.graphql(
            """
            mutation ($params: ReexecutionParams!) {
              launchRunReexecution(reexecutionParams: $params) {
                __typename
                ... on LaunchRunSuccess { run { runId } }
                ... on Error { message }
                ... on PythonError { stack }
              }
            }
            """,
            {"params": {"parentRunId": parent_run_id, "strategy": strategy}},
        )
        result = _expect(data["launchRunReexecution"], "LaunchRunSuccess", "launchRunReexecution")
        return str(result["run"]["runId"])

    def add_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        data = self.graphql(
            """
            mutation ($key: String!, $name: String!, $repo: RepositorySelector!) {
              addDynamicPartition(
                partitionKey: $key, partitionsDefName: $name, repositorySelector: $repo
              ) {
                __typename
                ... on AddDynamicPartitionSuccess { partitionKey }
                ... on Error { message }
              }
            }
            """,
            {"key": partition_key, "name": partitions_def_name, "repo": self.repository_selector()},
        )
        _expect(
            data["addDynamicPartition"],
            "AddDynamicPartitionSuccess",
            f"addDynamicPartition {partitions_def_name}/{partition_key}",
        )

    def add_dynamic_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """One mutation per key (GraphQL has no bulk form; for thousands use the instance API)."""
        for key in keys:
            self.add_dynamic_partition(partitions_def_name, key)

    # -- runs and backfills ---------------------------------------------------------------------
    def run(self, run_id: str) -> RunSummary:
        data = self.graphql(
            f"""
            query ($id: ID!) {{ runOrError(runId: $id) {{
              __typename ... on Run {{ {_RUN_FIELDS} }} ... on Error {{ message }}
            }} }}
            """,
            {"id": run_id},
        )
        return _run_summary(_expect(data["runOrError"], "Run", f"run {run_id}"))

    def runs(self, tags: Mapping[str, str] | None = None, limit: int = 1000) -> list[RunSummary]:
        data = self.graphql(
            f"""
            query ($filter: RunsFilter, $limit: Int) {{
              runsOrError(filter: $filter, limit: $limit) {{
                __typename ... on Runs {{ results {{ {_RUN_FIELDS} }} }} ... on Error {{ message }}
              }}
            }}
            """,
            {
                "filter": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
                "limit": limit,
            },
        )
        runs = _expect(data["runsOrError"], "Runs", "runsOrError")
        return [_run_summary(run) for run in runs["results"]]

    def wait_for_run(self, run_id: str, timeout: float = 120.0) -> RunSummary:
        deadline = time.monotonic() + timeout
        while True:
            summary = self.run(run_id)
            if summary.status in TERMINAL_RUN_STATUSES:
                return summary
            if time.monotonic() > deadline:
                raise DagsterServerError(f"run {run_id} still {summary.status} after {timeout}s")
            time.sleep(0.5)

    def backfill(self, backfill_id: str) -> BackfillSummary:
        data = self.graphql(
            f"""
            query ($id: String!) {{ partitionBackfillOrError(backfillId: $id) {{
              __typename
              ... on PartitionBackfill {{
                id status numPartitions error {{ message }} runs {{ {_RUN_FIELDS} }}
              }}
              ... on Error {{ message }}
            }} }}
            """,
            {"id": backfill_id},
        )
        backfill = _expect(
            data["partitionBackfillOrError"], "PartitionBackfill", f"backfill {backfill_id}"
        )
        error = backfill.get("error")
        return BackfillSummary(
            backfill_id=str(backfill["id"]),
            status=backfill["status"],
            num_partitions=backfill.get("numPartitions"),
            runs=[_run_summary(run) for run in backfill["runs"]],
            error=error["message"] if error else None,
        )

    def backfill_ids(self, limit: int = 20) -> list[str]:
        """Ids of the most recent backfills, newest first."""
        data = self.graphql(
            """
            query ($limit: Int) { partitionBackfillsOrError(limit: $limit) {
              __typename ... on PartitionBackfills { results { id } } ... on Error { message }
            } }
            """,
            {"limit": limit},
        )
        backfills = _expect(data["partitionBackfillsOrError"], "PartitionBackfills", "backfills")
        return [str(backfill["id"]) for backfill in backfills["results"]]

    def wait_for_backfill(self, backfill_id: str, timeout: float = 300.0) -> BackfillSummary:
        """Wait until the backfill is terminal (the daemon marks it so on its next pass)."""
        deadline = time.monotonic() + timeout
        while True:
            summary = self.backfill(backfill_id)
            if summary.status in TERMINAL_BACKFILL_STATUSES:
                return summary
            if time.monotonic() > deadline:
                raise DagsterServerError(
                    f"backfill {backfill_id} still {summary.status} after {timeout}s "
                    f"({len(summary.runs)} runs: {[run.status for run in summary.runs]})"
                )
            time.sleep(0.5)

    def wait_for_backfill_runs(
        self, backfill_id: str, expected_runs: int, timeout: float = 300.0
    ) -> list[RunSummary]:
        """Wait until `expected_runs` runs of the backfill exist and all are terminal."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs(tags={"dagster/backfill": backfill_id})
            if len(runs) >= expected_runs and all(
                run.status in TERMINAL_RUN_STATUSES for run in runs
            ):
                return runs
            if time.monotonic() > deadline:
                raise DagsterServerError(
                    f"backfill {backfill_id}: {len(runs)}/{expected_runs} runs, statuses "
                    f"{sorted({run.status for run in runs})} after {timeout}s"
                )
            time.sleep(0.5)

    # -- results --------------------------------------------------------------------------------
    def check_results(self, asset_key: str) -> list[CheckResult]:
        """Every check of an asset with its latest execution (None fields: never executed)."""
        data = self.graphql(
            f"""
            query ($key: AssetKeyInput!) {{ assetNodeOrError(assetKey: $key) {{
              __typename
              ... on AssetNode {{ assetChecksOrError {{
                __typename
                ... on AssetChecks {{ checks {{
                  name blocking
                  executionForLatestMaterialization {{
                    runId status
                    evaluation {{ success description metadataEntries {{ {_METADATA_FIELDS} }} }}
                  }}
                }} }}
                ... on AssetCheckNeedsMigrationError {{ message }}
              }} }}
              ... on AssetNotFoundError {{ message }}
            }} }}
            """,
            {"key": asset_key_input(asset_key)},
        )
        node = _expect(data["assetNodeOrError"], "AssetNode", f"asset {asset_key}")
        checks = _expect(node["assetChecksOrError"], "AssetChecks", f"checks of {asset_key}")
        results = []
        for check in checks["checks"]:
            execution = check["executionForLatestMaterialization"] or {}
            evaluation = execution.get("evaluation") or {}
            results.append(
                CheckResult(
                    asset_key=asset_key,
                    name=check["name"],
                    blocking=check["blocking"],
                    status=execution.get("status"),
                    passed=evaluation.get("success"),
                    run_id=execution.get("runId"),
                    description=evaluation.get("description"),
                    metadata=metadata_dict(evaluation.get("metadataEntries") or []),
                )
            )
        return results

    def check_executions(
        self, asset_key: str, check_name: str, limit: int = 10
    ) -> list[dict[str, Any]]:
        """Recent executions of one check, newest first (status, runId, evaluation)."""
        data = self.graphql(
            f"""
            query ($key: AssetKeyInput!, $name: String!, $limit: Int!) {{
              assetCheckExecutions(assetKey: $key, checkName: $name, limit: $limit) {{
                runId status timestamp partition
                evaluation {{ success description metadataEntries {{ {_METADATA_FIELDS} }} }}
              }}
            }}
            """,
            {"key": asset_key_input(asset_key), "name": check_name, "limit": limit},
        )
        return list(data["assetCheckExecutions"])

    def partition_statuses(self, asset_key: str) -> dict[str, list[str]]:
        """materialized / failed / unmaterialized / materializing partition keys of an asset."""
        data = self.graphql(
            """
            query ($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
              __typename
              ... on AssetNode { assetPartitionStatuses { __typename
                ... on DefaultPartitionStatuses {
                  materializedPartitions failedPartitions
                  unmaterializedPartitions materializingPartitions
                }
              } }
              ... on AssetNotFoundError { message }
            } }
            """,
            {"key": asset_key_input(asset_key)},
        )
        node = _expect(data["assetNodeOrError"], "AssetNode", f"asset {asset_key}")
        statuses = _expect(
            node["assetPartitionStatuses"], "DefaultPartitionStatuses", f"partitions {asset_key}"
        )
        return {
            "materialized": statuses["materializedPartitions"],
            "failed": statuses["failedPartitions"],
            "unmaterialized": statuses["unmaterializedPartitions"],
            "materializing": statuses["materializingPartitions"],
        }

    def latest_materialization_metadata(self, asset_key: str) -> dict[str, Any] | None:
        """Metadata of the asset's latest materialization (None: never materialized)."""
        data = self.graphql(
            f"""
            query ($key: AssetKeyInput!) {{ assetNodeOrError(assetKey: $key) {{
              __typename
              ... on AssetNode {{ assetMaterializations(limit: 1) {{
                runId metadataEntries {{ {_METADATA_FIELDS} }}
              }} }}
              ... on AssetNotFoundError {{ message }}
            }} }}
            """,
            {"key": asset_key_input(asset_key)},
        )
        node = _expect(data["assetNodeOrError"], "AssetNode", f"asset {asset_key}")
        events = node["assetMaterializations"]
        return metadata_dict(events[0]["metadataEntries"]) if events else None


# -- the server ---------------------------------------------------------------------------------


@dataclass
class DagsterServer:
    """A running webserver (and daemon) over a throwaway instance."""

    url: str
    dagster_home: Path
    webserver: ManagedProcess
    daemon: ManagedProcess | None
    client: DagsterGraphQL
    env: dict[str, str]

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.client.graphql(query, variables)

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.webserver, *([self.daemon] if self.daemon else [])]

    def logs(self, characters: int = 4000) -> str:
        """Tails of the webserver and daemon logs, for failure messages."""
        return "\n".join(
            f"----- {process.name} ({process.log_path}) -----\n{process.log_tail(characters)}"
            for process in self.processes
        )

    def instance(self) -> Any:
        """The same instance, opened in this process (bulk operations GraphQL lacks)."""
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.dagster_home))


def _wait_for_server_info(url: str, processes: Sequence[ManagedProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.popen.poll() is not None:
                raise DagsterServerError(
                    f"{process.name} exited with {process.popen.returncode} while starting:\n"
                    f"{process.log_tail()}"
                )
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    tails = "\n".join(process.log_tail() for process in processes)
    raise DagsterServerError(f"webserver at {url} did not answer in {timeout}s:\n{tails}")


@contextmanager
def dagster_server(
    target: CodeLocationTarget,
    *,
    with_daemon: bool = False,
    max_concurrent_runs: int = 2,
    env: Mapping[str, str] | None = None,
    dagster_home: Path | None = None,
    log_dir: Path | None = None,
    startup_timeout: float = 180.0,
    stop_timeout: float = 30.0,
    backfill_loop_seconds: float | None = None,
    instance_yaml: str | None = None,
) -> Iterator[DagsterServer]:
    """Run a webserver (and, `with_daemon`, a daemon) over `target` until the block ends.

    `dagster_home` defaults to a fresh temporary folder (deleted afterwards); `log_dir` defaults
    to `<dagster_home>/harness_logs`. `env` adds variables to the processes' environment (the code
    location reads its settings from there).

    `backfill_loop_seconds` shortens the backfill daemon's pause between passes (30 s in Dagster,
    not configurable): a backfill submits its runs on one pass and is marked finished on a later
    one, so tests and the benchmark would otherwise spend most of their time waiting. It patches
    a private Dagster constant in the daemon process only; `None` keeps Dagster's behaviour.

    `instance_yaml` replaces the throwaway `dagster.yaml` (e.g. one rendered by
    `piano_assets.deploy.instance` for PostgreSQL storage).
    """
    with ExitStack() as stack:
        if dagster_home is None:
            temp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dagster_home_"))
            dagster_home = Path(temp)
        dagster_home = dagster_home.resolve()
        # Not `<home>/logs`: Dagster's webserver and daemon move that folder to `.logs_queue` and
        # upload it to Dagster's telemetry server (unless DAGSTER_DISABLE_TELEMETRY is set).
        logs = log_dir or dagster_home / "harness_logs"
        if instance_yaml is None:
            write_instance_yaml(
                dagster_home, queued=with_daemon, max_concurrent_runs=max_concurrent_runs
            )
        else:
            dagster_home.mkdir(parents=True, exist_ok=True)
            (dagster_home / "dagster.yaml").write_text(instance_yaml)
        process_env = {
            **os.environ,
            **dict(env or {}),
            "DAGSTER_HOME": str(dagster_home),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "PYTHONUNBUFFERED": "1",
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started: list[ManagedProcess] = []

        def stop_all() -> None:
            # The daemon first, so it launches nothing while the webserver goes down.
            for process in reversed(started):
                process.stop(stop_timeout)

        stack.callback(stop_all)
        webserver = start_console_script(
            "dagster-webserver",
            [
                *target.cli_args(),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=process_env,
            cwd=target.working_directory,
            log_path=logs / "webserver.log",
        )
        started.append(webserver)
        daemon = None
        if with_daemon:
            preamble = ""
            if backfill_loop_seconds is not None:
                seconds = float(backfill_loop_seconds)
                preamble = (
                    "import dagster._daemon.controller as controller\n"
                    "if not hasattr(controller, 'DEFAULT_DAEMON_INTERVAL_SECONDS'):\n"
                    "    sys.exit('backfill_loop_seconds: this Dagster has no "
                    "DEFAULT_DAEMON_INTERVAL_SECONDS; pass None')\n"
                    f"controller.DEFAULT_DAEMON_INTERVAL_SECONDS = {seconds!r}\n"
                )
            daemon = start_console_script(
                "dagster-daemon",
                ["run", *target.cli_args()],
                env=process_env,
                cwd=target.working_directory,
                log_path=logs / "daemon.log",
                preamble=preamble,
            )
            started.append(daemon)

        _wait_for_server_info(url, started, startup_timeout)
        client = DagsterGraphQL(url)
        client.wait_for_locations(timeout=startup_timeout)
        if with_daemon:
            client.wait_for_daemons(BACKFILL_DAEMONS, timeout=startup_timeout)
        yield DagsterServer(
            url=url,
            dagster_home=dagster_home,
            webserver=webserver,
            daemon=daemon,
            client=client,
            env=process_env,
        )


def dagster_server_fixture(
    target: CodeLocationTarget, *, scope: str = "module", **options: Any
) -> Callable[..., Iterator[DagsterServer]]:
    """A pytest fixture that yields a `DagsterServer` over `target` (options: see dagster_server).

    Example: `tiny_server = dagster_server_fixture(CodeLocationTarget(module_name="pkg.defs"))`.
    """
    import pytest

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _fixture() -> Iterator[DagsterServer]:
        with dagster_server(target, **options) as server:
            yield server

    return _fixture
