"""The embedded sample: complete, a committed git repo, and the same bytes every time."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from piano_assets.layout import ModelRepoLayout
from piano_assets.sample.repo import (
    ensure_sample_repo,
    sample_is_ready,
    sample_world,
    world_dir_for,
)

pytestmark = pytest.mark.slow


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def _head(root: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def generated(generated_sample: Path) -> Path:
    """The session's generated sample; each test below leaves it complete."""
    return generated_sample


def test_sample_is_deterministic_and_committed(generated: Path) -> None:
    sample = generated
    root = ensure_sample_repo(sample)
    layout = ModelRepoLayout(root)
    assert sample_is_ready(sample)
    # Before cleanup: the legacy pipeline, stale data and superseded plans are there.
    assert (layout.legacy_pipeline / "Cargo.toml").exists()
    assert (layout.legacy_pipeline_data / "videos.jsonl").exists()
    assert layout.stale_pianoteq.is_dir()
    assert layout.percepiano_embeddings.exists()
    assert all(plan.exists() for plan in layout.superseded_plans)
    assert any(layout.maestro_cache.iterdir())
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # everything committed (housekeeping is git-ignored)

    world = sample_world(sample)
    assert world.chopin2021_base_url.startswith("file://")
    assert world.chopin2021_channel_url.startswith("file://")

    first, first_head = _tree_digest(root), _head(root)
    world_first = _tree_digest(Path(world.world_dir))
    # A second call is a no-op; a reset regenerates the same bytes and the same commit.
    assert ensure_sample_repo(sample) == root
    ensure_sample_repo(sample, reset=True)
    assert _tree_digest(root) == first
    assert _head(root) == first_head
    assert _tree_digest(Path(world.world_dir)) == world_first


def test_half_generated_sample_is_regenerated(generated: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    shutil.copytree(generated, sample, symlinks=True)
    shutil.copytree(world_dir_for(generated), world_dir_for(sample), symlinks=True)
    assert sample_is_ready(sample)
    stamp = ModelRepoLayout(sample).platform / "sample.json"
    stamp.unlink()  # as if a crash hit before the stamp was written
    (sample / "stray.txt").write_text("left by a crash")
    assert not sample_is_ready(sample)
    ensure_sample_repo(sample)
    assert sample_is_ready(sample)
    assert not (sample / "stray.txt").exists()
