"""The README's main command, end to end, on a freshly generated sample (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from piano_assets.layout import ModelRepoLayout

pytestmark = pytest.mark.slow


def _run_main(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    sample = tmp_path / "sample"
    env = {
        **os.environ,
        "PIANO_ASSETS_SAMPLE_DIR": str(sample),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
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


def test_main_command_materializes_everything_on_the_sample(tmp_path: Path) -> None:
    result, sample = _run_main(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]

    summary = result.stdout[result.stdout.index("piano-assets: model repo") :]
    assert "RANDOM-WEIGHT" in summary  # no weights here: the output says so
    assert "FAILED" not in summary
    passed, total = summary.split("Asset checks: ")[1].split(" passed")[0].split("/")
    assert passed == total and int(total) >= 10

    layout = ModelRepoLayout(sample)
    # Target layout of DESIGN §2.
    assert not layout.legacy_tools.exists()
    assert not layout.stale_pianoteq.exists()
    assert (layout.pipeline / "Cargo.toml").exists()
    assert (layout.pipeline_data / "videos.jsonl").exists()
    assert not any(path.exists() for path in layout.superseded_plans)
    chopin_lines = (layout.chopin2021 / "metadata.jsonl").read_text().splitlines()
    assert chopin_lines and all(json.loads(line)["segment_id"] for line in chopin_lines)
    assert any((layout.chopin2021 / "muq_embeddings").iterdir())
    assert any((layout.maestro_cache / "muq_embeddings").iterdir())

    # A second run is a safe no-op that still passes.
    again, _ = _run_main(tmp_path)
    assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
