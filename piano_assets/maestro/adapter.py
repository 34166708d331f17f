"""The MAESTRO tier's adapter for the tier factory, without Dagster.

Catalog: `maestro_recordings` writes `maestro_cache/recordings.parquet` (one row per recording).
Source: the official zip (read member by member, in place) or the extracted folder; downloaded
(resumable, hash-checked) when only a URL is configured. The original 44.1/48 kHz stereo WAV is
copied to the recording's scratch folder (a folder source is read in place) and the factory
converts it. Declared duration: the metadata's `duration`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.catalog_sensor import unseen
from piano_assets.lib.tier import (
    FetchedAudio,
    SourceGrowth,
    TierEnvironment,
    TierPathsAdapter,
)
from piano_assets.maestro.archive import (
    SOURCE_SAMPLE_RATES,
    ZIP_NAME,
    ZIP_SHA256,
    AudioSource,
    MaestroArchiveError,
    default_source_path,
    download_zip,
    open_audio_source,
    verification_stamp,
    verify_zip_sha256,
)
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.recordings import load_recordings, read_source_metadata, row_of
from piano_assets.settings import SourceLocations
from piano_assets.sources.errors import SourceError

log = logging.getLogger(__name__)


@dataclass
class SourceSettings:
    """Where the audio comes from, as configured (resource + run config)."""

    source_path: Path | None = None  # zip or extracted folder; None: look in maestro_cache/
    url: str | None = None  # download the zip from here when no source is found
    expected_sha256: str | None = None  # of the zip; None: the published one
    verify_sha256: bool = False  # hash the zip before reading it (once per file version)


@dataclass
class AudioSourceResolver:
    """Finds, downloads and verifies the audio source once per run, when first needed."""

    paths: MaestroPaths
    settings: SourceSettings
    progress: Callable[[str], None] = log.info
    _source: AudioSource | None = field(default=None, init=False)
    _error: Exception | None = field(default=None, init=False)

    def expected_sha256(self) -> str:
        return (self.settings.expected_sha256 or ZIP_SHA256).strip().lower()

    def source_path(self) -> Path:
        configured = self.settings.source_path
        path = configured or default_source_path(self.paths.cache)
        if path is not None and path.exists():
            return path
        if self.settings.url:
            target = configured or (self.paths.cache / ZIP_NAME)
            if self.settings.expected_sha256 is None and not self.settings.url.endswith(ZIP_NAME):
                raise MaestroArchiveError(
                    f"{self.settings.url} is not the official {ZIP_NAME}: set the expected "
                    "SHA-256 (source_urls.maestro_sha256) so the download can be checked"
                )
            self.progress(f"downloading {self.settings.url} to {target} (resumable)")
            return download_zip(
                self.settings.url,
                target,
                self.expected_sha256(),
                self.paths.work_dir,
                progress=_byte_progress(self.progress),
            )
        searched = configured or self.paths.cache
        raise MaestroArchiveError(
            f"no MAESTRO audio at {searched}: put {ZIP_NAME} or the extracted "
            f"maestro-v3.0.0/ folder there, or set PIANO_ASSETS_MAESTRO_SOURCE / "
            "PIANO_ASSETS_MAESTRO_URL"
        )

    def get(self) -> AudioSource:
        """The source, resolved once; a failure is remembered, so 101 GB is hashed only once."""
        if self._error is not None:
            raise self._error
        if self._source is None:
            try:
                self._source = self._resolve()
            except (MaestroArchiveError, OSError, SourceError, ValueError) as err:
                self._error = err
                raise
        return self._source

    def _resolve(self) -> AudioSource:
        path = self.source_path()
        source = open_audio_source(path)
        if self.settings.verify_sha256:
            if source.kind != "zip":
                raise MaestroArchiveError(
                    f"{path} is a folder: SHA-256 verification applies to the zip only"
                )
            self.progress(f"verifying the SHA-256 of {path}")
            verify_zip_sha256(
                path, self.expected_sha256(), verification_stamp(self.paths.work_dir, path)
            )
        return source


def _byte_progress(report: Callable[[str], None]) -> Callable[[int, int | None], None]:
    state = {"next": 0}

    def progress(done: int, total: int | None) -> None:
        step = max((total or 0) // 20, 256 << 20)  # every 5 % or 256 MB
        if done >= state["next"] or (total is not None and done == total):
            state["next"] = done + step
            of = f" of {total / 1e9:.2f} GB" if total else ""
            report(f"downloaded {done / 1e9:.2f} GB{of}")

    return progress


class MaestroSource:
    """Copies one recording's original WAV out of the zip (or points at the folder's file)."""

    def __init__(self, paths: MaestroPaths, resolver: AudioSourceResolver) -> None:
        self.paths = paths
        self.resolver = resolver
        table = load_recordings(paths)
        self.rows = {row["recording_id"]: row for row in table.iter_rows(named=True)}

    def fetch(self, recording_id: str, scratch: Path) -> FetchedAudio:
        row = row_of(self.rows, recording_id)
        source = self.resolver.get()
        fetched = source.copy_member(row["audio_filename"], scratch / "original.wav")
        original = fetched.wav_format
        if original is not None and original.sample_rate not in SOURCE_SAMPLE_RATES:
            log.warning(
                "%s: source is %s Hz, not 44.1/48 kHz; converting anyway",
                recording_id,
                original.sample_rate,
            )
        where = (
            f"{fetched.source_path}!{fetched.member}"
            if fetched.source_kind == "zip"
            else (str(fetched.path))
        )
        return FetchedAudio(
            path=fetched.path,
            source_url=self.paths.relative(where),
            declared_seconds={"MAESTRO metadata": float(row["duration"])},
            details={
                "audio_filename": row["audio_filename"],
                "source_kind": fetched.source_kind,
                "member": fetched.member,
                "source_sample_rate": original.sample_rate if original else None,
                "source_channels": original.channels if original else None,
            },
        )


def source_settings(locations: SourceLocations) -> SourceSettings:
    return SourceSettings(
        source_path=locations.maestro_source,
        url=locations.maestro_url,
        expected_sha256=locations.maestro_sha256,
        verify_sha256=locations.maestro_verify_sha256,
    )


class MaestroAdapter(TierPathsAdapter):
    """T3: one partition per MAESTRO v3 recording."""

    paths_type = MaestroPaths
    title = "T3 MAESTRO v3"
    catalog_asset = "maestro_recordings"
    summary_asset = "maestro_piece_performer_map"
    download_pool: str | None = None
    sensor_interval_s = 300  # a local metadata file: cheap to look at
    provenance_details = ("audio_filename",)

    def catalog_keys(self, layout: ModelRepoLayout) -> list[str]:
        paths = MaestroPaths(layout)
        if not paths.recordings_table.is_file():
            return []
        return load_recordings(paths)["recording_id"].to_list()

    def source_growth(self, env: TierEnvironment) -> SourceGrowth:
        """Recordings the MAESTRO metadata lists that the recordings table has not."""
        paths = MaestroPaths(env.layout)
        frame, where = read_source_metadata(paths, env.sources.maestro_source)
        return SourceGrowth(
            unseen(frame["recording_id"].to_list(), self.catalog_keys(env.layout)), where
        )

    def open_source(self, env: TierEnvironment) -> MaestroSource:
        paths = MaestroPaths(env.layout)
        resolver = AudioSourceResolver(paths, source_settings(env.sources), progress=env.log)
        return MaestroSource(paths, resolver)


ADAPTER = MaestroAdapter()
