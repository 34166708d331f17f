"""The real code location over the embedded sample, driven like a user would: through the
webserver's GraphQL API and through the UI in headless Chromium.

Each test gets a fresh instance (tmp DAGSTER_HOME) and a fresh sample repo (tmp
sample dir, generated before the server starts; the server gets the settings `./dev ui` sets).
MuQ runs with tiny random weights, labelled as such.
"""

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.sample.repo import sample_environment
from piano_assets_tests.dagster_server import CodeLocationTarget, DagsterServer, dagster_server
from piano_assets_tests.support import copy_sample
from piano_assets_tests.ui_browser import (
    ARTIFACTS_DIR,
    DagsterUI,
    browser_unavailable_reason,
    chromium_page,
)

pytestmark = pytest.mark.slow

LOCATION = "piano_assets.definitions"
TARGET = CodeLocationTarget(module_name=LOCATION)
CHOPIN_PER_RECORDING = ["chopin2021_audio", "chopin2021_segments", "chopin2021_muq_embeddings"]
CHOPIN_CATALOG = ["chopin2021_results", "chopin2021_video_catalog"]


@pytest.fixture
def sample_server(generated_sample: Path, tmp_path: Path) -> Iterator[DagsterServer]:
    sample_dir = copy_sample(generated_sample, tmp_path / "sample")  # each test works on a copy
    env = {
        # What `./dev ui` sets: the settings that point at the sample.
        **sample_environment(sample_dir),
        "PIANO_ASSETS_MUQ_MODE": "random",
        "PIANO_ASSETS_MUQ_RANDOM_SIZE": "tiny",
    }
    with dagster_server(
        TARGET, with_daemon=True, env=env, dagster_home=tmp_path / "home", backfill_loop_seconds=2
    ) as server:
        yield server


def _register_chopin_recordings(server: DagsterServer) -> list[str]:
    """Materialize the results and the catalog; the catalog registers the recordings."""
    client = server.client
    run = client.wait_for_run(client.launch_assets(CHOPIN_CATALOG), timeout=120)
    assert run.status == "SUCCESS", server.logs()
    keys = client.partition_statuses("chopin2021_audio")["unmaterialized"]
    assert len(keys) >= 2, keys
    return sorted(keys)


def test_graphql_reorganize_step_backfill_two_recordings_and_read_checks(
    sample_server: DagsterServer,
) -> None:
    client = sample_server.client
    assert len(client.asset_nodes(["readiness_report", "masterclass_pipeline_code"])) == 2

    # Unpartitioned assets: the two moves (the build check of the first needs the second).
    moves = ["masterclass_pipeline_code", "masterclass_pipeline_data"]
    run = client.wait_for_run(client.launch_assets(moves), timeout=120)
    assert run.status == "SUCCESS", sample_server.logs()
    checks = {check.name: check for check in client.check_results("masterclass_pipeline_code")}
    assert checks["layout_matches_design"].run_id == run.run_id
    assert checks["layout_matches_design"].passed is True, checks["layout_matches_design"]
    assert checks["pipeline_builds_and_runs"].passed is True, checks["pipeline_builds_and_runs"]

    # The catalog registers the recordings; a backfill of two of them runs the per-recording
    # stages for those two only.
    keys = _register_chopin_recordings(sample_server)
    chosen = keys[:2]
    backfill_id = client.launch_backfill(CHOPIN_PER_RECORDING, chosen, title="two recordings")
    backfill = client.wait_for_backfill(backfill_id, timeout=150)
    assert backfill.status == "COMPLETED_SUCCESS", (backfill, sample_server.logs())
    assert backfill.num_partitions == 2
    statuses = client.partition_statuses("chopin2021_muq_embeddings")
    assert set(chosen) <= set(statuses["materialized"])
    assert not set(chosen) & set(statuses["unmaterialized"])
    assert set(keys[2:]) <= set(statuses["unmaterialized"])

    registered = {c.name: c for c in client.check_results("chopin2021_video_catalog")}
    assert registered["catalog_keys_are_registered"].passed is True

    # Not everything is done: the readiness report fails, and says so in its run.
    readiness = client.wait_for_run(client.launch_assets(["readiness_report"]), timeout=120)
    assert readiness.status == "FAILURE"
    # Its blocking checks were still evaluated in that run, naming the failing criteria.
    report_checks = {c.name: c for c in client.check_results("readiness_report")}
    verdict = report_checks["all_criteria_pass"]
    assert verdict.run_id == readiness.run_id
    assert verdict.passed is False
    assert "3. T2 metadata is scraped" in verdict.description, verdict
    assert "1. The masterclass pipeline" not in verdict.description, verdict


NO_BROWSER = browser_unavailable_reason()


@pytest.mark.browser
@pytest.mark.skipif(NO_BROWSER is not None, reason=str(NO_BROWSER))
def test_browser_graph_materialize_backfill_and_checks(sample_server: DagsterServer) -> None:
    artifacts = ARTIFACTS_DIR / "test_ui_sample"
    shutil.rmtree(artifacts, ignore_errors=True)
    client = sample_server.client
    with chromium_page() as page:
        ui = DagsterUI(page, sample_server.url, artifacts)
        with ui.screenshot_on_failure():
            ui.open_global_lineage()
            page.get_by_text("readiness", exact=True).first.wait_for()
            ui.screenshot("01_global_lineage")

            # Materialize the readiness group's only asset from its graph: unpartitioned, and
            # it fails on a sample that is not done yet (the red node is the point).
            ui.open_asset_group(LOCATION, "readiness")
            ui.node("readiness_report").get_by_text("Never materialized").wait_for()
            # The button spins while the launch data loads; a click then does nothing.
            page.locator("button:has-text('Materialize'):enabled").first.wait_for()
            page.wait_for_timeout(1000)
            before = {run.run_id for run in client.runs(tags={"dagster/from_ui": "true"})}
            ui.click_materialize()
            # Its parents never materialized: the UI asks first (the warning a user sees).
            page.get_by_text("Are you sure?").wait_for()
            ui.screenshot("02_upstream_warning")
            page.get_by_role("button", name="Confirm").click()
            run_id = _new_ui_run(sample_server, before)
            assert client.wait_for_run(run_id, timeout=120).status == "FAILURE"
            ui.node("readiness_report").get_by_text("Failed").first.wait_for()
            ui.screenshot("03_readiness_failed")

            # An unpartitioned asset that succeeds: the official results, scraped from the
            # sample's local competition site, materialized from its own page.
            ui.open("/assets/chopin2021_results")
            page.locator("button:has-text('Materialize'):enabled").first.wait_for()
            page.wait_for_timeout(1000)
            before = {run.run_id for run in client.runs(tags={"dagster/from_ui": "true"})}
            ui.click_materialize()
            page.get_by_text("Are you sure?").wait_for()  # its parent is a reorganize step
            page.get_by_role("button", name="Confirm").click()
            run_id = _new_ui_run(sample_server, before)
            assert client.wait_for_run(run_id, timeout=120).status == "SUCCESS"
            metadata = client.latest_materialization_metadata("chopin2021_results")
            assert metadata is not None
            ui.open("/assets/chopin2021_results")
            page.get_by_text(re.compile(r"Materialized|ago")).first.wait_for()
            ui.screenshot("03b_results_materialized")

            # Backfill two chosen recordings from the first per-recording asset's launch dialog.
            keys = _register_chopin_recordings(sample_server)
            chosen = [keys[0], keys[-1]]
            ui.open("/assets/chopin2021_audio")  # its parent, the catalog, is done
            ui.click_materialize()
            backfill_id = ui.launch_backfill(chosen)
            backfill = client.wait_for_backfill(backfill_id, timeout=150)
            assert backfill.status == "COMPLETED_SUCCESS", (backfill, sample_server.logs())
            assert backfill.num_partitions == 2
            materialized = set(client.partition_statuses("chopin2021_audio")["materialized"])
            assert set(chosen) == materialized
            ui.open_backfill(backfill_id)
            ui.screenshot("04_backfill")

            ui.open_asset_checks("chopin2021_video_catalog")
            page.get_by_text("catalog_keys_are_registered").first.wait_for()
            page.get_by_text("Passed", exact=True).first.wait_for()
            ui.screenshot("05_catalog_checks")
            # The failed readiness run's blocking checks, as the UI shows them.
            ui.open_asset_checks("readiness_report")
            page.get_by_text("all_criteria_pass").first.wait_for()
            page.get_by_text(re.compile(r"failing: .*3\. T2 metadata")).first.wait_for()
            ui.screenshot("06_readiness_checks")

    assert ui.community_dialogs_skipped == 1


def _new_ui_run(server: DagsterServer, before: set[str], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [r.run_id for r in server.client.runs(tags={"dagster/from_ui": "true"})]
        fresh = [run_id for run_id in new if run_id not in before]
        if fresh:
            return fresh[0]
        time.sleep(0.5)
    raise AssertionError(f"no run launched from the UI within {timeout} s\n{server.logs()}")
