"""The embedded sample: a model repo as it looks *before* cleanup, plus a local outside world.

`ensure_sample_repo(sample_dir)` generates both once (deterministically) and returns the repo
root; later calls return at once. The world (results pages, a channel listing, audio) lives
beside the repo, in `<sample_dir>-world/`, because it stands for the internet, not the repo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from piano_assets.engine.files import atomic_write_text
from piano_assets.layout import ModelRepoLayout

# Bump when the generated content changes, so stale samples are regenerated.
SAMPLE_VERSION = 2  # 2: the T4 YouTube world
_STAMP = "sample.json"
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "piano-assets sample",
    "GIT_AUTHOR_EMAIL": "sample@piano-assets.invalid",
    "GIT_COMMITTER_NAME": "piano-assets sample",
    "GIT_COMMITTER_EMAIL": "sample@piano-assets.invalid",
    "GIT_AUTHOR_DATE": "2026-03-01T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-03-01T12:00:00+00:00",
}


class SampleError(RuntimeError):
    pass


@dataclass(frozen=True)
class SampleWorld:
    """Where the sample's outside world answers (file:// URLs)."""

    world_dir: str
    chopin2021_base_url: str
    chopin2021_channel_url: str
    youtube_piano_channels_file: str
    youtube_piano_min_duration_s: float
    youtube_piano_max_duration_s: float


def world_dir_for(sample_dir: Path) -> Path:
    return sample_dir.with_name(sample_dir.name + "-world")


def _stamp_path(sample_dir: Path) -> Path:
    return ModelRepoLayout(sample_dir).platform / _STAMP


def sample_is_ready(sample_dir: Path) -> bool:
    stamp = _stamp_path(sample_dir)
    if not stamp.exists():
        return False
    try:
        return json.loads(stamp.read_text(encoding="utf-8")).get("version") == SAMPLE_VERSION
    except (OSError, ValueError):
        return False


def sample_world(sample_dir: Path) -> SampleWorld:
    ensure_sample_repo(sample_dir)
    data = json.loads((world_dir_for(sample_dir) / "world.json").read_text(encoding="utf-8"))
    return SampleWorld(**data)


def sample_environment(sample_dir: Path) -> dict[str, str]:
    """The PIANO_ASSETS_* settings that point the platform at the sample and its local world
    (set by `piano-assets main` and `./dev ui`; production code never imports this module)."""
    root = ensure_sample_repo(sample_dir)
    world = sample_world(root)
    return {
        "PIANO_ASSETS_ROOT": str(root),
        "PIANO_ASSETS_CHOPIN2021_BASE_URL": world.chopin2021_base_url,
        "PIANO_ASSETS_CHOPIN2021_CHANNEL_URL": world.chopin2021_channel_url,
        "PIANO_ASSETS_YOUTUBE_PIANO_CHANNELS_FILE": world.youtube_piano_channels_file,
        "PIANO_ASSETS_YOUTUBE_PIANO_MIN_DURATION_S": str(world.youtube_piano_min_duration_s),
        "PIANO_ASSETS_YOUTUBE_PIANO_MAX_DURATION_S": str(world.youtube_piano_max_duration_s),
        # The sample's outside world is files: yt-dlp may read file:// URLs there only.
        "PIANO_ASSETS_YTDLP_ALLOW_FILE_URLS": "true",
    }


def ensure_sample_repo(sample_dir: Path, *, reset: bool = False) -> Path:
    """Generate the sample repo and world unless a complete one of this version exists."""
    sample_dir = sample_dir.absolute()
    if reset or not sample_is_ready(sample_dir):
        _generate(sample_dir)
    return sample_dir.resolve()


def _generate(sample_dir: Path) -> None:
    from piano_assets.sample.before_cleanup import build_model_repo_before_cleanup
    from piano_assets.sample.chopin2021_world import build_chopin2021_world
    from piano_assets.sample.maestro_sample import build_maestro_sample
    from piano_assets.sample.youtube_world import build_youtube_world

    world_dir = world_dir_for(sample_dir)
    # A half-generated sample (no stamp) is discarded whole; the stamp is written last.
    for folder in (sample_dir, world_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)

    build_model_repo_before_cleanup(sample_dir)
    build_maestro_sample(ModelRepoLayout(sample_dir).maestro_cache, None)
    world = build_chopin2021_world(world_dir)
    youtube = build_youtube_world(world_dir)
    _git_commit_all(sample_dir, "Model repo before the 2026 reorganization (piano-assets sample)")

    info = SampleWorld(
        world_dir=str(world_dir),
        chopin2021_base_url=world.chopin2021_base_url,
        chopin2021_channel_url=world.chopin2021_channel_url,
        youtube_piano_channels_file=str(youtube.channels_file),
        youtube_piano_min_duration_s=youtube.filters.min_duration_s,
        youtube_piano_max_duration_s=youtube.filters.max_duration_s,
    )
    atomic_write_text(world_dir / "world.json", json.dumps(asdict(info), indent=2) + "\n")
    stamp = {"version": SAMPLE_VERSION, "world_dir": str(world_dir)}
    atomic_write_text(_stamp_path(sample_dir), json.dumps(stamp, indent=2) + "\n")


def _git_commit_all(root: Path, message: str) -> None:
    git = shutil.which("git")
    if git is None:
        raise SampleError("git is needed to generate the sample model repo; install git")
    env = {**os.environ, **_GIT_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root)}
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "--no-gpg-sign", "-m", message],
    ):
        result = subprocess.run(
            [git, *args], cwd=root, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SampleError(f"git {' '.join(args)} failed in {root}: {result.stderr.strip()}")
