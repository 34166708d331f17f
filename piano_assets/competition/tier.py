"""The Chopin 2021 tier's per-recording work and its outputs, without Dagster.

audio (yt-dlp → 24 kHz mono WAV) → segments (shared engine) → MuQ embeddings (shared engine) →
metadata.jsonl + results.jsonl. The assets in `assets.py` only wire these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from piano_assets.competition.catalog import CatalogError, RecordingSpec
from piano_assets.competition.paths import Chopin2021Paths
from piano_assets.competition.records import ResultRecord, read_jsonl
from piano_assets.competition.results import CompetitionResults, PerformerResult
from piano_assets.engine.files import atomic_write_text, sha256_file
from piano_assets.sources.wav import read_wav_header
from piano_assets.sources.ytdlp import TARGET_CHANNELS, TARGET_SAMPLE_RATE

if TYPE_CHECKING:
    from piano_assets.sources.ytdlp import YtDlpClient

__all__ = ["RecordingSpec"]


class TierError(RuntimeError):
    """A recording cannot go through a stage; the message names the recording and the cause."""


def read_results(path: Path) -> CompetitionResults:
    """The resolved results written by `chopin2021_results`."""
    return results_from_rows(read_jsonl(path, ResultRecord))


def spec_for(
    catalog: Mapping[str, RecordingSpec], recording_id: str, paths: Chopin2021Paths
) -> RecordingSpec:
    spec = catalog.get(recording_id)
    if spec is None:
        raise CatalogError(
            f"recording {recording_id} is registered but not in {paths.catalog}: "
            "materialize chopin2021_video_catalog again"
        )
    return spec


def results_from_rows(rows: list[ResultRecord]) -> CompetitionResults:
    return CompetitionResults(
        source="resolved",
        performers=tuple(
            PerformerResult(
                name=row.performer,
                country=row.country,
                furthest_round=row.furthest_round,
                prize=row.prize,
                special_prizes=tuple(row.special_prizes),
                repertoire={r: tuple(p) for r, p in row.repertoire.items()},
                aliases=tuple(row.aliases),
                note=row.note,
            )
            for row in rows
        ),
    )


# -- audio -------------------------------------------------------------------------------------


class AudioProvenance(BaseModel):
    """Sidecar of one recording's WAV (`audio/<key>.json`): where it came from, what it is."""

    model_config = ConfigDict(extra="forbid")

    recording_id: str
    video_id: str
    source_url: str
    title: str
    sha256: str
    seconds: float
    sample_rate: int
    channels: int


def audio_provenance_path(paths: Chopin2021Paths, recording_id: str) -> Path:
    return paths.audio(recording_id).with_suffix(".json")


def fetch_audio(spec: RecordingSpec, paths: Chopin2021Paths, client: YtDlpClient) -> dict[str, Any]:
    """Download (or find) one recording's audio as 24 kHz mono WAV and record its provenance.

    A gone or private video raises the client's VideoUnavailableError, which names the
    recording; the batch fails only this partition.
    """
    target = paths.audio(spec.recording_id)
    downloaded = client.download_audio(
        spec.source_url,
        target,
        recording_id=spec.recording_id,
        archive_file=paths.download_archive,
        work_dir=paths.download_work,
    )
    header = read_wav_header(downloaded.path)
    if header.sample_rate != TARGET_SAMPLE_RATE or header.channels != TARGET_CHANNELS:
        raise TierError(
            f"recording {spec.recording_id}: {downloaded.path} is {header.sample_rate} Hz, "
            f"{header.channels} channels; expected {TARGET_SAMPLE_RATE} Hz mono"
        )
    provenance = AudioProvenance(
        recording_id=spec.recording_id,
        video_id=spec.video_id,
        source_url=spec.source_url,
        title=spec.title,
        sha256=sha256_file(downloaded.path),
        seconds=round(header.seconds, 3),
        sample_rate=header.sample_rate,
        channels=header.channels,
    )
    atomic_write_text(
        audio_provenance_path(paths, spec.recording_id), provenance.model_dump_json(indent=2) + "\n"
    )
    return {
        "path": str(downloaded.path),
        "seconds": provenance.seconds,
        "sha256": provenance.sha256,
        "video_id": spec.video_id,
        "source_url": spec.source_url,
        "performer": spec.performer,
        "round": spec.round.value,
        "reused_existing_audio": downloaded.from_archive,
    }


def read_audio_provenance(paths: Chopin2021Paths, recording_id: str) -> AudioProvenance | None:
    path = audio_provenance_path(paths, recording_id)
    if not (path.is_file() and paths.audio(recording_id).is_file()):
        return None
    return AudioProvenance.model_validate_json(path.read_text(encoding="utf-8"))
