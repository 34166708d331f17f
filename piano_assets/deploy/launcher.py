"""The default run launcher, plus the health check that run monitoring needs.

Dagster's `DefaultRunLauncher` starts each run worker through the code server and cannot tell
whether that worker is still alive, so its run monitoring only watches start and cancel
timeouts. When a worker is killed (kill -9, OOM, a crashed `dagster dev`, a killed
`piano-assets main`), its run stays STARTED forever. `MonitoredRunLauncher` answers the
monitoring daemon's question: the worker is the process that wrote the run's RUN_START event;
when that process ran on this host and is gone (or its pid now belongs to a younger process),
the run is reported FAILED, and the daemon marks it failed so it can be re-executed.

It only judges workers it can see: runs whose code server is local (a unix socket or a loopback
address) or that carry `WORKER_HOST_TAG` naming this host. Anything else is reported RUNNING, as
before, never guessed dead.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path

from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG

WORKER_HOST_TAG = "piano_assets/worker_host"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", ""})  # noqa: S104
START_SLACK_S = 2.0  # clock granularity between the process start and its first event


def this_host() -> str:
    return socket.gethostname()


def run_worker_tags() -> dict[str, str]:
    """Tags for a run executed in this process (`execute_in_process`), so a killed one is seen."""
    return {WORKER_HOST_TAG: this_host()}


def worker_is_local(tags: Mapping[str, str]) -> bool:
    """Did this run's worker run on this host, as far as its tags tell?"""
    if WORKER_HOST_TAG in tags:
        return tags[WORKER_HOST_TAG] == this_host()
    grpc_info = tags.get(GRPC_INFO_TAG)
    if not grpc_info:
        return False
    try:
        info = json.loads(grpc_info)
    except ValueError:
        return False
    return bool(info.get("socket")) or str(info.get("host", "")).lower() in LOOPBACK_HOSTS


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def process_alive(pid: int, started_by: float) -> bool:
    """Is `pid` a live process that was already running at `started_by` (epoch seconds)?

    A pid whose process started later was reused by another program: the worker is gone.
    """
    stat_path = Path(f"/proc/{pid}/stat")
    if not Path("/proc/self/stat").exists():  # not Linux: existence only
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        stat = stat_path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    fields = stat[stat.rindex(")") + 2 :].split()  # fields from the 3rd (state) on
    if fields[0] in {"Z", "X", "x"}:  # a killed worker not yet reaped by its parent
        return False
    start_ticks = int(fields[19])  # field 22: start time, clock ticks after boot
    started = _boot_time() + start_ticks / os.sysconf("SC_CLK_TCK")
    return started <= started_by + START_SLACK_S


class MonitoredRunLauncher(DefaultRunLauncher):
    """`DefaultRunLauncher` whose run workers can be checked by Dagster's run monitoring."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        if not worker_is_local(run.tags):
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, "run worker not on this host: not checked"
            )
        records = self._instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.RUN_START, limit=1
        ).records
        if not records or records[0].event_log_entry.dagster_event is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker has not started yet")
        entry = records[0].event_log_entry
        pid = entry.dagster_event.pid if entry.dagster_event else None
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "RUN_START carries no pid")
        if process_alive(pid, started_by=entry.timestamp):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker pid {pid} is alive")
        gone_for = time.time() - entry.timestamp
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run worker (pid {pid} on {this_host()}, started {gone_for:.0f}s ago) is gone: "
            "it was killed or crashed. Re-execute the run (from failure) to finish its work.",
        )
