"""The pre-cleanup sample repo: deterministic, complete, and its pipeline is a real crate."""

from __future__ import annotations

import os
import subprocess
import wave
from pathlib import Path

import pytest
import torch

from piano_assets.layout import KEPT_DATA_DIRS, ModelRepoLayout
from piano_assets.reorganize.pipeline_build import expected_status, find_cargo, parse_status
from piano_assets.reorganize.plan import PIPELINE_DATA_NAMED, superseding_candidates
from piano_assets.sample.before_cleanup import build_model_repo_before_cleanup

from .reorganize_helpers import tree


def test_generating_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build_model_repo_before_cleanup(first)
    build_model_repo_before_cleanup(second)
    files = tree(first)
    assert files == tree(second)
    assert len(files) > 40


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not empty"):
        build_model_repo_before_cleanup(tmp_path)
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_has_every_part_the_reorganization_works_on(tmp_path: Path) -> None:
    build_model_repo_before_cleanup(tmp_path)
    layout = ModelRepoLayout(tmp_path)
    crate = layout.legacy_pipeline
    for name in ("src/main.rs", "src/status.rs", "Cargo.toml", "Cargo.lock"):
        assert (crate / name).is_file(), name
    assert any((crate / ".claude").iterdir())
    assert '"./data"' in (crate / "src" / "main.rs").read_text(encoding="utf-8")
    assert "--data-dir" in (crate / "src" / "main.rs").read_text(encoding="utf-8")
    for name in PIPELINE_DATA_NAMED:
        entry = layout.legacy_pipeline_data / name
        assert entry.exists(), name
        if entry.is_dir():
            assert any(entry.iterdir()), f"{name} has no records"
    for folder in KEPT_DATA_DIRS:
        if folder != "maestro_cache":  # written by the MAESTRO sample generator
            assert any((layout.data / folder).iterdir()), folder
    assert any(layout.stale_pianoteq.iterdir())
    assert any(layout.competition_cache.iterdir())
    assert not layout.composite_labels.exists()  # produced elsewhere
    assert ".piano_assets/" in (tmp_path / ".gitignore").read_text(encoding="utf-8")
    names = [p.name for p in layout.plans_dir.iterdir()]
    for old in layout.superseded_plans:
        assert old.is_file()
        assert superseding_candidates(old.name, names), f"nothing supersedes {old.name}"


def test_audio_is_a_short_synthesized_wav(tmp_path: Path) -> None:
    build_model_repo_before_cleanup(tmp_path)
    wavs = sorted((ModelRepoLayout(tmp_path).legacy_pipeline_data / "audio").glob("*.wav"))
    assert wavs
    with wave.open(str(wavs[0]), "rb") as handle:
        seconds = handle.getnframes() / handle.getframerate()
        assert 0.5 <= seconds <= 5
        frames = handle.readframes(handle.getnframes())
    assert any(frames), "silence, not synthesized notes"


def test_percepiano_embeddings_are_a_dict_of_tensors(tmp_path: Path) -> None:
    build_model_repo_before_cleanup(tmp_path)
    loaded = torch.load(
        ModelRepoLayout(tmp_path).percepiano_embeddings, map_location="cpu", weights_only=True
    )
    assert isinstance(loaded, dict) and loaded
    assert all(isinstance(value, torch.Tensor) for value in loaded.values())


@pytest.mark.skipif(find_cargo() is None, reason="cargo is not installed")
def test_the_pipeline_builds_offline_and_reports_its_data_dir(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    build_model_repo_before_cleanup(root)
    crate = ModelRepoLayout(root).legacy_pipeline
    cargo = str(find_cargo())
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    before = tree(crate)
    subprocess.run(
        [cargo, "build", "--offline", "--locked", "--quiet"], cwd=crate, env=env, check=True
    )
    assert tree(crate) == before, "building must not touch the crate (Cargo.lock is committed)"
    binary = str(tmp_path / "target" / "debug" / "masterclass-pipeline")
    default = subprocess.run(
        [binary, "status"], cwd=crate, capture_output=True, text=True, check=True
    )
    report = parse_status(default.stdout)
    assert report.pop("data_dir") == "./data"
    assert report == expected_status(crate / "data")
    elsewhere = subprocess.run(
        [binary, "--data-dir", str(tmp_path / "nowhere"), "status"],
        cwd=crate,
        capture_output=True,
        text=True,
        check=False,
    )
    assert elsewhere.returncode == 1
    assert "nowhere" in elsewhere.stderr
    tests = subprocess.run(
        [cargo, "test", "--offline", "--quiet"],
        cwd=crate,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
