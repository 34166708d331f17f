"""The webserver harness, proven on a tiny code location: GraphQL flows, process handling.

The GraphQL tests share one webserver + daemon (startup ~5 s) and so one instance: each uses its
own partition keys and asserts only on what it launched. The browser gestures (`ui_browser.py`)
are proven on the real code location over the sample, in `test_ui_sample.py`.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import yaml

from piano_assets_tests.dagster_server import (
    CodeLocationTarget,
    DagsterServer,
    dagster_server,
    dagster_server_fixture,
    group_members,
    write_instance_yaml,
)

pytestmark = pytest.mark.slow

TINY = CodeLocationTarget(module_name="piano_assets_tests.fixtures_ui.tiny_location")
LOCATION = "piano_assets_tests.fixtures_ui.tiny_location"
RECORDINGS = "tiny_recordings"
GREETING = "tiny_greeting"
LENGTHS = "tiny_recording_lengths"
ALL_MATERIALIZED = "tiny_recordings_all_materialized"

tiny_server = dagster_server_fixture(TINY, with_daemon=True, backfill_loop_seconds=2)


def test_instance_yaml_picks_the_run_coordinator(tmp_path: Path) -> None:
    without_daemon = yaml.safe_load(write_instance_yaml(tmp_path / "a", queued=False).read_text())
    with_daemon = yaml.safe_load(
        write_instance_yaml(tmp_path / "b", queued=True, max_concurrent_runs=3).read_text()
    )
    assert without_daemon["run_coordinator"]["class"] == "DefaultRunCoordinator"
    assert with_daemon["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert with_daemon["run_coordinator"]["config"]["max_concurrent_runs"] == 3
    assert without_daemon["telemetry"] == {"enabled": False}


def test_graphql_materialize_runs_the_asset_and_its_blocking_check(
    tiny_server: DagsterServer,
) -> None:
    client = tiny_server.client
    run_id = client.launch_assets([GREETING])

    run = client.wait_for_run(run_id, timeout=120)

    assert run.status == "SUCCESS", tiny_server.logs()
    metadata = client.latest_materialization_metadata(GREETING)
    assert metadata is not None
    assert metadata["text"] == "hello from the tiny code location"
    (check,) = client.check_results(GREETING)
    assert (check.name, check.blocking) == ("tiny_greeting_recorded", True)
    assert (check.status, check.passed, check.run_id) == ("SUCCEEDED", True, run_id)
    assert check.metadata["characters"] == len(metadata["text"])


def test_graphql_backfill_of_two_partitions_then_the_check_across_all(
    tiny_server: DagsterServer,
) -> None:
    client = tiny_server.client
    keys = ["gq-1", "gq-2", "gq-3", "gq-4"]
    client.add_dynamic_partitions(RECORDINGS, keys)

    # Adjacent keys fit one run of the multi-run policy (ranges of up to 10 partitions).
    backfill_id = client.launch_backfill([LENGTHS], ["gq-2", "gq-3"], title="two recordings")
    backfill = client.wait_for_backfill(backfill_id, timeout=120)

    assert backfill.status == "COMPLETED_SUCCESS", (backfill, tiny_server.logs())
    assert backfill.num_partitions == 2
    (run,) = backfill.runs
    assert run.status == "SUCCESS"
    assert run.tags["dagster/asset_partition_range_start"] == "gq-2"
    assert run.tags["dagster/asset_partition_range_end"] == "gq-3"
    statuses = client.partition_statuses(LENGTHS)
    assert {"gq-2", "gq-3"} <= set(statuses["materialized"])
    assert {"gq-1", "gq-4"} <= set(statuses["unmaterialized"])

    # The tier-level check (unpartitioned) looks across every registered recording.
    client.wait_for_run(client.launch_assets([], checks=[(LENGTHS, ALL_MATERIALIZED)]))
    (check,) = client.check_results(LENGTHS)
    assert (check.status, check.passed) == ("FAILED", False)
    missing = check.metadata["missing"].split(", ")
    assert {"gq-1", "gq-4"} <= set(missing)
    assert not {"gq-2", "gq-3"} & set(missing)

    rest = client.partition_statuses(LENGTHS)["unmaterialized"]
    rest_backfill = client.wait_for_backfill(client.launch_backfill([LENGTHS], rest), timeout=120)
    assert rest_backfill.status == "COMPLETED_SUCCESS", tiny_server.logs()
    run_id = client.launch_assets([], checks=[(LENGTHS, ALL_MATERIALIZED)])
    client.wait_for_run(run_id)
    (check,) = client.check_results(LENGTHS)
    assert (check.status, check.passed, check.run_id) == ("SUCCEEDED", True, run_id)
    assert check.metadata["missing"] == "none"
    executions = client.check_executions(LENGTHS, ALL_MATERIALIZED, limit=50)
    assert executions[0]["runId"] == run_id
    assert any(execution["status"] == "FAILED" for execution in executions)


def test_server_logs_stay_out_of_dagsters_telemetry_upload(tiny_server: DagsterServer) -> None:
    """Dagster's webserver and daemon move `$DAGSTER_HOME/logs` to `.logs_queue` and POST it to
    Dagster's telemetry server, whatever `telemetry.enabled` says, unless
    DAGSTER_DISABLE_TELEMETRY is set; the harness's logs must not be there."""
    time.sleep(2)  # the upload thread makes its first pass at startup
    for process in tiny_server.processes:
        assert process.log_path.exists(), process.log_path
        assert process.log_path.parent != tiny_server.dagster_home / "logs"
    assert tiny_server.env.get("DAGSTER_DISABLE_TELEMETRY") == "1"
    queue = tiny_server.dagster_home / ".logs_queue"
    assert not queue.exists() or not any(queue.iterdir())


def test_sigint_stops_the_server_even_when_the_parent_ignores_it() -> None:
    # A shell job starts processes with SIGINT ignored; the harness restores it in the child.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        server_context = dagster_server(TINY)
        server = server_context.__enter__()
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        webserver = server.webserver
        assert len(group_members(webserver.pgid)) >= 2  # webserver + its code server
        webserver.popen.send_signal(signal.SIGINT)
        returncode = webserver.popen.wait(timeout=30)
        assert returncode != -signal.SIGKILL
        deadline = time.monotonic() + 30
        while group_members(webserver.pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert group_members(webserver.pgid) == []  # the code server went down with it
    finally:
        server_context.__exit__(None, None, None)


def test_leaving_the_block_leaves_no_process_behind() -> None:
    with dagster_server(TINY, with_daemon=True) as server:
        groups = [process.pgid for process in server.processes]
        assert all(group_members(pgid) for pgid in groups)
        pids = [pid for pgid in groups for pid in group_members(pgid)]
        home = server.dagster_home
    assert [group_members(pgid) for pgid in groups] == [[], []]
    assert [pid for pid in pids if _running(pid)] == []
    assert not home.exists()  # the temporary instance is gone too


def test_a_code_location_that_fails_to_load_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken_location.py"
    broken.write_text("raise RuntimeError('this code location is broken on purpose')\n")
    target = CodeLocationTarget(python_file=broken, working_directory=tmp_path)
    with pytest.raises(Exception, match="broken on purpose"), dagster_server(target):
        pass


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan waits for PID 1 to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
