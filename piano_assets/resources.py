"""Dagster resources over every outside system: the model repo, MuQ, yt-dlp, the web.

Each resource resolves its defaults from `PianoAssetsSettings` (environment variables
`PIANO_ASSETS_*`), so `definitions.py` needs no arguments, and tests pass explicit values.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from piano_assets.layout import ModelRepoLayout
from piano_assets.settings import PianoAssetsSettings, load_settings, validate_root

if TYPE_CHECKING:
    from piano_assets.engine import Embedder, EngineConfig, SegmentPolicy
    from piano_assets.sources.web import PageFetcher
    from piano_assets.sources.ytdlp import YtDlpClient


@functools.cache
def _settings() -> PianoAssetsSettings:
    return load_settings()


def _sample_world() -> object:
    """The sample's local outside world (generated with the sample repo)."""
    from piano_assets.sample.repo import sample_world

    return sample_world(_settings().sample_dir)


class ModelRepoResource(dg.ConfigurableResource):
    """The model repo the platform reorganizes and fills; the only place it writes."""

    root: str | None = Field(
        default=None, description="Model repo root. Unset: PIANO_ASSETS_ROOT, else the sample."
    )
    dry_run: bool = Field(
        default_factory=lambda: _settings().dry_run,
        description="Destructive steps only report their plan.",
    )

    def root_path(self) -> Path:
        if self.root:
            return validate_root(Path(self.root).expanduser())
        return _settings().model_repo_root()

    def layout(self) -> ModelRepoLayout:
        return ModelRepoLayout(self.root_path())


class MuqEmbedderResource(dg.ConfigurableResource):
    """MuQ: pretrained weights from a local cache or path, else a labelled random-weight model."""

    mode: str = Field(default_factory=lambda: _settings().muq_mode.value)
    weights: str = Field(default_factory=lambda: _settings().muq_weights)
    random_size: str = Field(default_factory=lambda: _settings().muq_random_size.value)
    device: str = Field(default_factory=lambda: _settings().muq_device)
    batch_size: int | None = Field(
        default_factory=lambda: _auto_as_none(_settings().muq_batch_size),
        description="Segments per batch; None: auto (1 on a CPU, what fits on a GPU).",
    )
    pooling: str = Field(default_factory=lambda: _settings().muq_pooling.value)
    compute_dtype: str = Field(default_factory=lambda: _settings().muq_compute_dtype)
    decode_workers: int | None = Field(default_factory=lambda: _settings().decode_workers)
    prefetch_segments: int | None = Field(default_factory=lambda: _settings().prefetch_segments)
    segment_seconds: float = Field(default_factory=lambda: _settings().segment_seconds)
    min_tail_seconds: float = Field(default_factory=lambda: _settings().min_tail_seconds)

    def get_embedder(self) -> Embedder:
        return _cached_embedder(
            self.mode,
            self.weights,
            self.random_size,
            self.device,
            self.batch_size,
            self.pooling,
            self.compute_dtype,
        )

    def engine_config(self) -> EngineConfig:
        from piano_assets.engine import EngineConfig

        return EngineConfig(
            decode_workers=self.decode_workers, prefetch_segments=self.prefetch_segments
        )

    def segment_policy(self) -> SegmentPolicy:
        from piano_assets.engine import SegmentPolicy

        return SegmentPolicy(
            segment_seconds=self.segment_seconds, min_tail_seconds=self.min_tail_seconds
        )


def _auto_as_none(value: int | str) -> int | None:
    return None if value == "auto" else int(value)


@functools.cache
def _cached_embedder(
    mode: str,
    weights: str,
    random_size: str,
    device: str,
    batch_size: int | None,
    pooling: str,
    compute_dtype: str = "auto",
) -> Embedder:
    # One model per process: building MuQ costs seconds and hundreds of MB.
    from piano_assets.engine import EmbedderConfig, build_embedder

    return build_embedder(
        EmbedderConfig(
            mode=mode,
            weights=weights,
            random_size=random_size,
            device=device,
            batch_size="auto" if batch_size is None else batch_size,
            pooling=pooling,
            compute_dtype=compute_dtype,
        )
    )


class YtDlpResource(dg.ConfigurableResource):
    """yt-dlp for listings and downloads. `file://` URLs are allowed only for the sample world."""

    allow_file_urls: bool = Field(default_factory=lambda: _settings().uses_sample)
    rate_limit_bps: int | None = None
    retries: int = 3
    socket_timeout_s: float = 20.0
    # YouTube tolerates roughly 300 videos an hour per session; pace real channel backfills.
    sleep_between_downloads_s: float | None = None
    cookies_file: str | None = None

    def client(self) -> YtDlpClient:
        from piano_assets.sources.ytdlp import YtDlpClient

        return YtDlpClient(
            allow_file_urls=self.allow_file_urls,
            rate_limit_bps=self.rate_limit_bps,
            retries=self.retries,
            socket_timeout_s=self.socket_timeout_s,
            sleep_between_downloads_s=self.sleep_between_downloads_s,
            cookies_file=Path(self.cookies_file) if self.cookies_file else None,
            logger=logging.getLogger("piano_assets.ytdlp"),
        )


class WebResource(dg.ConfigurableResource):
    """Web pages, fetched once and kept raw for provenance."""

    refresh: bool = False
    timeout_s: float = 20.0

    def fetcher(self, raw_dir: Path) -> PageFetcher:
        from piano_assets.sources.web import PageFetcher

        return PageFetcher(raw_dir, timeout_s=self.timeout_s, refresh=self.refresh)


def _default_chopin_base_url() -> str:
    settings = _settings()
    if settings.chopin2021_base_url:
        return settings.chopin2021_base_url
    if settings.uses_sample:
        return _sample_world().chopin2021_base_url  # type: ignore[attr-defined]
    return "https://chopin2020.pl/"


def _default_chopin_channel_url() -> str:
    settings = _settings()
    if settings.chopin2021_channel_url:
        return settings.chopin2021_channel_url
    if settings.uses_sample:
        return _sample_world().chopin2021_channel_url  # type: ignore[attr-defined]
    return "https://www.youtube.com/@chopininstitute/videos"


class SourceUrlsResource(dg.ConfigurableResource):
    """Where each tier finds its recordings. Configuration, never hard-wired in assets."""

    chopin2021_base_url: str = Field(default_factory=_default_chopin_base_url)
    chopin2021_channel_url: str = Field(default_factory=_default_chopin_channel_url)
    maestro_source: str | None = Field(
        default_factory=lambda: (
            str(_settings().maestro_source) if _settings().maestro_source else None
        ),
        description="MAESTRO zip or extracted folder; unset: the model repo's maestro_cache/.",
    )
    maestro_url: str | None = Field(default_factory=lambda: _settings().maestro_url)
    maestro_sha256: str | None = None


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "model_repo": ModelRepoResource(),
        "muq": MuqEmbedderResource(),
        "ytdlp": YtDlpResource(),
        "web": WebResource(),
        "source_urls": SourceUrlsResource(),
    }
