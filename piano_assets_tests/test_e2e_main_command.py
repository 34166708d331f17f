"""The README's main command, end to end, on a freshly generated sample (slow); then the real
webserver over what it left, read through GraphQL and in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from piano_assets.layout import ModelRepoLayout
from piano_assets.sample.repo import sample_environment
from piano_assets_tests.dagster_server import REPO_ROOT, CodeLocationTarget, dagster_server
from piano_assets_tests.ui_browser import (
    ARTIFACTS_DIR,
    DagsterUI,
    browser_unavailable_reason,
    chromium_page,
)

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "PIANO_ASSETS_SAMPLE_DIR": str(tmp_path / "sample"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }


def _run_main(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    sample = tmp_path / "sample"
    env = {**os.environ, **_env(tmp_path)}
    env.pop("PIANO_ASSETS_ROOT", None)
    result = subprocess.run(
        [sys.executable, "-m", "piano_assets.cli", "main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return result, sample


@pytest.fixture(scope="module")
def main_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run of the main command, shared by the tests below (it takes about a minute)."""
    tmp_path = tmp_path_factory.mktemp("main")
    result, _sample = _run_main(tmp_path)
    return result, tmp_path


def test_main_command_materializes_everything_on_the_sample(
    main_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, tmp_path = main_run
    sample = tmp_path / "sample"
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]

    summary = result.stdout[result.stdout.index("piano-assets: model repo") :]
    assert "RANDOM-WEIGHT" in summary  # no weights here: the output says so
    assert "FAILED" not in summary
    passed, total = summary.split("Asset checks: ")[1].split(" passed")[0].split("/")
    assert passed == total and int(total) >= 10
    # The readiness report of this run closes the summary, every criterion passing.
    assert "# Readiness: COMPLETE (6/6 criteria pass)" in summary
    assert "RANDOM WEIGHTS: not for training" in summary

    layout = ModelRepoLayout(sample)
    # Target layout of docs/target-layout.md.
    assert not layout.legacy_tools.exists()
    assert not layout.stale_pianoteq.exists()
    assert (layout.pipeline / "Cargo.toml").exists()
    assert (layout.pipeline_data / "videos.jsonl").exists()
    assert not any(path.exists() for path in layout.superseded_plans)
    chopin_lines = (layout.chopin2021 / "metadata.jsonl").read_text().splitlines()
    assert chopin_lines and all(json.loads(line)["segment_id"] for line in chopin_lines)
    assert any((layout.chopin2021 / "muq_embeddings").iterdir())
    assert any((layout.maestro_cache / "muq_embeddings").iterdir())


NO_BROWSER = browser_unavailable_reason()


@pytest.mark.browser
@pytest.mark.skipif(NO_BROWSER is not None, reason=str(NO_BROWSER))
def test_after_the_main_command_the_ui_shows_every_criterion_passing(
    main_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, tmp_path = main_run
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    sample = sample_environment(tmp_path / "sample")  # what `./dev ui` sets for the sample
    env = {**_env(tmp_path), **sample, "PIANO_ASSETS_MUQ_MODE": "random"}
    artifacts = ARTIFACTS_DIR / "test_e2e_main_command"
    shutil.rmtree(artifacts, ignore_errors=True)
    # The same instance the main command wrote to, through workspace.yaml as `./dev ui` opens it.
    with dagster_server(
        CodeLocationTarget(workspace_file=REPO_ROOT / "workspace.yaml"),
        env=env,
        dagster_home=Path(env["DAGSTER_HOME"]),
    ) as server:
        metadata = server.client.latest_materialization_metadata("readiness_report")
        assert metadata is not None, server.logs()
        report = str(metadata["report"])
        assert report.startswith("# Readiness: COMPLETE (6/6 criteria pass)"), report
        assert report.count("| PASS |") == 6, report
        checks = {c.name: c for c in server.client.check_results("readiness_report")}
        assert set(checks) == {"all_criteria_pass", "target_layout_holds"}
        assert all(check.passed for check in checks.values()), checks
        (location,) = server.client.location_entries()
        assert location["name"] == "piano_assets", location

        with chromium_page() as page:
            ui = DagsterUI(page, server.url, artifacts)
            with ui.screenshot_on_failure():
                ui.open_global_lineage()
                page.get_by_text("readiness", exact=True).first.wait_for()
                ui.screenshot("01_global_lineage")
                ui.open("/assets/readiness_report")
                page.get_by_text("[Show Markdown]").first.click()
                dialog = page.get_by_role("dialog").filter(has_text="Readiness: COMPLETE")
                dialog.wait_for()
                shown = dialog.inner_text()
                assert "6/6 criteria pass" in shown
                assert "RANDOM-WEIGHT MuQ" in shown  # random weights are named in the UI too
                assert shown.count("PASS") == 6, shown
                page.wait_for_timeout(1000)  # the dialog fades in; a clear picture for the docs
                ui.screenshot("02_readiness_report")


def test_a_second_main_command_is_a_safe_no_op_that_still_passes(
    main_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    first, tmp_path = main_run
    assert first.returncode == 0, (first.stdout + first.stderr)[-6000:]
    again, _ = _run_main(tmp_path)
    assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
    assert "# Readiness: COMPLETE (6/6 criteria pass)" in again.stdout


def _outputs(sample: Path) -> dict[str, bytes]:
    """Every file the platform wrote under model/data, with the sample's folders masked.

    A safetensors file is its JSON header (masked) and its tensor bytes (compared as they are):
    masking changes the header's length, which the file's first 8 bytes record."""
    data = ModelRepoLayout(sample).data

    def mask(raw: bytes) -> bytes:
        for folder in (f"{sample}-world", str(sample)):
            for spelling in (Path(folder).as_uri(), folder):
                raw = raw.replace(spelling.encode(), b"<SAMPLE>")
        return raw

    masked: dict[str, bytes] = {}
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        if path.suffix == ".safetensors":
            size = int.from_bytes(raw[:8], "little")
            header = raw[8 : 8 + size].rstrip(b" ")  # padded with spaces to 8-byte alignment
            raw = mask(header) + b"\n--tensors--\n" + raw[8 + size :]
        masked[path.relative_to(data).as_posix()] = mask(raw)
    return masked


def test_two_samples_in_two_folders_give_byte_identical_outputs(
    main_run: tuple[subprocess.CompletedProcess[str], Path],
    tmp_path: Path,
) -> None:
    """Every output of the main command (tables, metadata, plots, audio, embeddings of the
    seeded random MuQ) is reproduced byte for byte from another folder. Only the folder names
    differ, inside the source URLs that point at each sample's own local world."""
    first_result, first_tmp = main_run
    assert first_result.returncode == 0, first_result.stdout[-3000:]
    second_result, _ = _run_main(tmp_path)
    assert second_result.returncode == 0, second_result.stdout[-3000:]
    first, second = _outputs(first_tmp / "sample"), _outputs(tmp_path / "sample")
    assert sorted(first) == sorted(second)
    assert sum(1 for name in first if name.endswith(".safetensors")) >= 15
    different = [name for name in first if first[name] != second[name]]
    assert different == [], different[:20]
