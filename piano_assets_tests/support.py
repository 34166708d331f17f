"""Helpers the tests share (functions; the fixtures are in `conftest.py`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from piano_assets.resources import (
    ModelRepoResource,
    MuqEmbedderResource,
    SourceUrlsResource,
    WebResource,
    YtDlpResource,
)
from piano_assets.sample.chopin2021_world import CompetitionWorld
from piano_assets.sample.repo import ensure_sample_repo, world_dir_for


def tiny_muq() -> MuqEmbedderResource:
    """The real MuQ architecture, tiny and with random weights, on the CPU (labelled as such)."""
    return MuqEmbedderResource(
        mode="random",
        weights="none",
        random_size="tiny",
        device="cpu",
        batch_size=4,
        pooling="none",
        segment_seconds=30.0,
        min_tail_seconds=5.0,
    )


def offline_resources(root: Path, world: CompetitionWorld) -> dict[str, object]:
    """Every resource pointed at the local sample world (file:// URLs), with a tiny MuQ."""
    return {
        "model_repo": ModelRepoResource(root=str(root), dry_run=False),
        "muq": tiny_muq(),
        "ytdlp": YtDlpResource(allow_file_urls=True),
        "web": WebResource(),
        "source_urls": SourceUrlsResource(
            chopin2021_base_url=world.chopin2021_base_url,
            chopin2021_channel_url=world.chopin2021_channel_url,
        ),
    }


def everything_in(defs: dg.Definitions) -> list[object]:
    """A `defs`' assets and checks, as `dagster.materialize` takes them."""
    return [*(defs.assets or []), *(defs.asset_checks or [])]


def copy_sample(sample: Path, target: Path) -> Path:
    """A private copy of a generated sample and its world at `target` (a complete sample)."""
    shutil.copytree(sample, target, symlinks=True)
    shutil.copytree(world_dir_for(sample), world_dir_for(target), symlinks=True)
    ensure_sample_repo(target)  # a no-op on a complete copy; regenerates a broken one
    return target
