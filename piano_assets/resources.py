"""Dagster resources over every outside system: the model repo, MuQ, yt-dlp, the web, the sources.

Each resource takes its defaults from `PianoAssetsSettings` (environment variables
`PIANO_ASSETS_*`), so `definitions.py` needs no arguments, and tests pass explicit values.
A bad setting never stops the code location from loading: the defaults stand in, and every run
that uses a settings-backed resource fails at once with the setting's problem (see
`SettingsBackedResource`).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from piano_assets.layout import ModelRepoLayout
from piano_assets.settings import (
    PianoAssetsSettings,
    SettingsError,
    SourceLocations,
    settings_or_defaults,
    settings_problem,
    validate_root,
)

if TYPE_CHECKING:
    from piano_assets.engine import Embedder, EngineConfig, SegmentPolicy
    from piano_assets.sources.urls import CrawlScope
    from piano_assets.sources.web import PageFetcher
    from piano_assets.sources.ytdlp import YtDlpClient


def _settings() -> PianoAssetsSettings:
    return settings_or_defaults()[0]


@functools.cache
def _verify_shared_root(root: Path, expected_id: str | None) -> None:
    """Distributed workers must all see the same model repo: fail at once, naming the path,
    on a worker where it is missing, empty (nothing mounted) or another repo (once a process)."""
    from piano_assets.deploy.shared_root import verify_shared_root

    verify_shared_root(root, expected_id)


class SettingsBackedResource(dg.ConfigurableResource):
    """Fails a run at once, naming the bad PIANO_ASSETS_* value, when its defaults could not be
    read (the code location still loads, so the UI shows the run and its message)."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        problem = settings_problem()
        if problem is not None:
            raise SettingsError(
                f"{problem}. Fix the environment of the code location and reload it."
            )


class ModelRepoResource(SettingsBackedResource):
    """The model repo the platform reorganizes and fills; the only place it writes."""

    root: str | None = Field(
        default_factory=lambda: str(_settings().root) if _settings().root else None,
        description="Model repo root (default: PIANO_ASSETS_ROOT).",
    )
    dry_run: bool = Field(
        default_factory=lambda: _settings().dry_run,
        description="Destructive steps only report their plan.",
    )

    def root_path(self) -> Path:
        if not self.root:
            root = _settings().model_repo_root()  # raises the clear "no model repo" error
        else:
            root = validate_root(Path(self.root).expanduser())
        if _settings().executor != "multiprocess":
            _verify_shared_root(root, _settings().root_id)
        return root

    def layout(self) -> ModelRepoLayout:
        return ModelRepoLayout(self.root_path())


class MuqEmbedderResource(SettingsBackedResource):
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
    duration_tolerance_s: float = Field(default_factory=lambda: _settings().duration_tolerance_s)

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


def _optional_str(value: object) -> str | None:
    return str(value) if value is not None else None


class YtDlpResource(SettingsBackedResource):
    """yt-dlp for listings and downloads. `file://` URLs only where allowed (the sample world).

    YouTube: the deno of `yt-dlp[default,deno]` solves its challenges (`js_runtime_path` to use
    another), downloads are paced (about 300 videos an hour per session), and a cookies file
    and a PO-token provider can be given. Each field defaults to its `PIANO_ASSETS_YTDLP_*`.
    """

    allow_file_urls: bool = Field(default_factory=lambda: _settings().ytdlp_allow_file_urls)
    rate_limit_bps: int | None = None
    retries: int = 3
    socket_timeout_s: float = 20.0
    sleep_interval_s: float | None = Field(
        default_factory=lambda: _settings().ytdlp_sleep_interval_s,
        description="Pause before each download (unset: 5 s on YouTube; 0: none).",
    )
    max_sleep_interval_s: float | None = Field(
        default_factory=lambda: _settings().ytdlp_max_sleep_interval_s,
        description="Random pause up to this before each download (unset: 10 s on YouTube).",
    )
    sleep_requests_s: float | None = Field(
        default_factory=lambda: _settings().ytdlp_sleep_requests_s,
        description="Pause between the requests of a listing (unset: 1 s on YouTube).",
    )
    cookies_file: str | None = Field(
        default_factory=lambda: _optional_str(_settings().ytdlp_cookies_file),
        description="Netscape cookies file (helps with 'confirm you are not a bot').",
    )
    po_token_provider_url: str | None = Field(
        default_factory=lambda: _settings().ytdlp_po_token_provider_url,
        description="Base URL of a bgutil PO-token provider (plugin bgutil-ytdlp-pot-provider).",
    )
    extractor_args: list[str] = Field(
        default_factory=lambda: list(_settings().ytdlp_extractor_args),
        description="yt-dlp extractor arguments, e.g. 'youtube:po_token=web.gvs+TOKEN'.",
    )
    js_runtime_path: str | None = Field(
        default_factory=lambda: _optional_str(_settings().ytdlp_js_runtime_path),
        description="The deno binary (unset: the one installed with yt-dlp[default,deno]).",
    )

    def client(self) -> YtDlpClient:
        from piano_assets.sources.ytdlp import Pacing, YtDlpClient, parse_extractor_args

        return YtDlpClient(
            allow_file_urls=self.allow_file_urls,
            rate_limit_bps=self.rate_limit_bps,
            retries=self.retries,
            socket_timeout_s=self.socket_timeout_s,
            pacing=Pacing(self.sleep_interval_s, self.max_sleep_interval_s, self.sleep_requests_s),
            cookies_file=Path(self.cookies_file) if self.cookies_file else None,
            po_token_provider_url=self.po_token_provider_url,
            extractor_args=parse_extractor_args(self.extractor_args),
            js_runtime_path=Path(self.js_runtime_path) if self.js_runtime_path else None,
            logger=logging.getLogger("piano_assets.ytdlp"),
        )


class WebResource(SettingsBackedResource):
    """Web pages, fetched once and kept raw for provenance."""

    refresh: bool = False
    timeout_s: float = 20.0

    def fetcher(self, raw_dir: Path, scope: CrawlScope | None = None) -> PageFetcher:
        from piano_assets.sources.web import PageFetcher

        return PageFetcher(raw_dir, timeout_s=self.timeout_s, refresh=self.refresh, scope=scope)


class SourceUrlsResource(SettingsBackedResource):
    """Where each tier finds its recordings. Configuration, never hard-wired in assets."""

    chopin2021_base_url: str = Field(default_factory=lambda: _settings().chopin2021_base_url)
    chopin2021_channel_url: str = Field(default_factory=lambda: _settings().chopin2021_channel_url)
    maestro_source: str | None = Field(
        default_factory=lambda: (
            str(_settings().maestro_source) if _settings().maestro_source else None
        ),
        description="MAESTRO zip or extracted folder; unset: the model repo's maestro_cache/.",
    )
    maestro_url: str | None = Field(default_factory=lambda: _settings().maestro_url)
    maestro_sha256: str | None = Field(default_factory=lambda: _settings().maestro_sha256)
    maestro_verify_sha256: bool = Field(
        default_factory=lambda: _settings().maestro_verify_sha256,
        description="Hash the MAESTRO zip (101 GB: minutes) before reading it; once per file.",
    )

    youtube_piano_channels_file: str | None = Field(
        default_factory=lambda: _optional_str(_settings().youtube_piano_channels_file),
        description="T4: a channel list replacing the curated one (unset: the curated list).",
    )
    youtube_piano_min_duration_s: float = Field(
        default_factory=lambda: _settings().youtube_piano_min_duration_s
    )
    youtube_piano_max_duration_s: float = Field(
        default_factory=lambda: _settings().youtube_piano_max_duration_s
    )

    def locations(self) -> SourceLocations:
        return SourceLocations(
            chopin2021_base_url=self.chopin2021_base_url,
            chopin2021_channel_url=self.chopin2021_channel_url,
            maestro_source=Path(self.maestro_source) if self.maestro_source else None,
            maestro_url=self.maestro_url,
            maestro_sha256=self.maestro_sha256,
            maestro_verify_sha256=self.maestro_verify_sha256,
            youtube_piano_channels_file=(
                Path(self.youtube_piano_channels_file) if self.youtube_piano_channels_file else None
            ),
            youtube_piano_min_duration_s=self.youtube_piano_min_duration_s,
            youtube_piano_max_duration_s=self.youtube_piano_max_duration_s,
        )


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "model_repo": ModelRepoResource(),
        "muq": MuqEmbedderResource(),
        "ytdlp": YtDlpResource(),
        "web": WebResource(),
        "source_urls": SourceUrlsResource(),
    }
