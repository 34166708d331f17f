"""The webserver harness, proven on a tiny code location: GraphQL flows and a real browser.

The GraphQL tests share one webserver + daemon (startup ~5 s) and so one instance: each uses its
own partition keys and asserts only on what it launched. The browser test gets a fresh instance.
"""

from __future__ import annotations

import shutil
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
from piano_assets_tests.ui_browser import (
    ARTIFACTS_DIR,
    DagsterUI,
    browser_unavailable_reason,
    chromium_page,
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


NO_BROWSER = browser_unavailable_reason()


@pytest.mark.browser
@pytest.mark.skipif(NO_BROWSER is not None, reason=str(NO_BROWSER))
def test_browser_materialize_backfill_and_read_checks() -> None:
    artifacts = ARTIFACTS_DIR / "test_ui_harness"
    shutil.rmtree(artifacts, ignore_errors=True)
    # A fresh instance of its own: what the UI shows comes from this test's runs only.
    with (
        dagster_server(TINY, with_daemon=True, backfill_loop_seconds=2) as tiny_server,
        chromium_page() as page,
    ):
        client = tiny_server.client
        client.add_dynamic_partitions(RECORDINGS, ["ui-1", "ui-2", "ui-3"])
        ui = DagsterUI(page, tiny_server.url, artifacts)
        with ui.screenshot_on_failure():
            ui.open_global_lineage()
            page.get_by_text("tiny_unpartitioned").first.wait_for()
            ui.screenshot("01_global_lineage")

            # Materialize the unpartitioned asset from its group's graph.
            ui.open_asset_group(LOCATION, "tiny_unpartitioned")
            ui.node(GREETING).wait_for()
            before = {run.run_id for run in client.runs(tags={"dagster/from_ui": "true"})}
            ui.click_materialize()
            run_id = _new_ui_run(tiny_server, before)
            assert client.wait_for_run(run_id, timeout=120).status == "SUCCESS", tiny_server.logs()
            ui.node(GREETING).get_by_text("Materialized").wait_for()
            ui.screenshot("02_materialized")

            ui.open_asset_checks(GREETING)
            page.get_by_text("tiny_greeting_recorded").first.wait_for()
            page.get_by_text("Passed", exact=True).wait_for()
            ui.screenshot("03_greeting_checks")

            # Backfill two chosen recordings from the partitioned group's launch dialog.
            ui.open_asset_group(LOCATION, "tiny_recordings")
            ui.click_materialize()
            backfill_id = ui.launch_backfill(["ui-1", "ui-3"])
            backfill = client.wait_for_backfill(backfill_id, timeout=120)
            assert backfill.status == "COMPLETED_SUCCESS", (backfill, tiny_server.logs())
            assert backfill.num_partitions == 2
            materialized = set(client.partition_statuses(LENGTHS)["materialized"])
            assert {"ui-1", "ui-3"} <= materialized
            assert "ui-2" not in materialized
            ui.open_backfill(backfill_id)
            page.get_by_text("100% completed").wait_for()
            page.get_by_text("Succeeded", exact=True).first.wait_for()
            ui.screenshot("04_backfill")

            # The check across all recordings ran in the backfill's runs: ui-2 is missing.
            ui.open_asset_checks(LENGTHS)
            page.get_by_text(ALL_MATERIALIZED).first.wait_for()
            page.get_by_text("Failed", exact=True).first.wait_for()
            page.get_by_text("ui-2").first.wait_for()
            ui.screenshot("05_recordings_checks")

    assert ui.community_dialogs_skipped == 1
    assert sorted(path.name for path in artifacts.glob("*.png")) == [
        "01_global_lineage.png",
        "02_materialized.png",
        "03_greeting_checks.png",
        "04_backfill.png",
        "05_recordings_checks.png",
        "backfill_dialog.png",
    ]


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan waits for PID 1 to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _new_ui_run(server: DagsterServer, before: set[str], timeout: float = 30) -> str:
    """The run the UI launched after `before` was taken."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = server.client.runs(tags={"dagster/from_ui": "true"})
        new = [run.run_id for run in runs if run.run_id not in before]
        if new:
            (run_id,) = new
            return run_id
        time.sleep(0.3)
    raise AssertionError(f"the UI launched no run in {timeout}s\n{server.logs()}")
