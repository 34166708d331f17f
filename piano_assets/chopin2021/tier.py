"""The Chopin 2021 tier's per-recording work and its outputs, without Dagster.

audio (yt-dlp → 24 kHz mono WAV) → segments (shared engine) → MuQ embeddings (shared engine) →
metadata.jsonl + results.jsonl. The assets in `assets.py` only wire these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from piano_assets.chopin2021.catalog import (
    CatalogError,
    RecordingSpec,
    catalog_by_key,
    read_catalog,
)
from piano_assets.chopin2021.derive import published_results
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import (
    ResultRecord,
    SegmentProvenance,
    SegmentRecord,
    read_jsonl,
    segment_records,
    write_jsonl,
)
from piano_assets.chopin2021.results import CompetitionResults, PerformerResult
from piano_assets.engine import (
    Embedder,
    RecordingAudio,
    SegmentPolicy,
    embed_recordings,
    embedding_path,
    plan_segments,
    probe_wav,
    read_provenance,
    write_segment_table,
)
from piano_assets.engine.files import atomic_path, atomic_write_text, sha256_file, validate_key
from piano_assets.engine.store import load_segments
from piano_assets.sources.wav import read_wav_header
from piano_assets.sources.ytdlp import TARGET_CHANNELS, TARGET_SAMPLE_RATE

if TYPE_CHECKING:
    from piano_assets.chopin2021.validation import Verdict
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
    # What the source declared (yt-dlp's info['duration']), to compare with `seconds`.
    declared_seconds: float | None = None


def audio_provenance_path(paths: Chopin2021Paths, recording_id: str) -> Path:
    return paths.audio(recording_id).with_suffix(".json")


def fetch_audio(spec: RecordingSpec, paths: Chopin2021Paths, client: YtDlpClient) -> dict[str, Any]:
    """Download (or find) one recording's audio as 24 kHz mono WAV and record its provenance.

    A gone or private video raises the client's VideoUnavailableError, and a web page or
    random bytes its NotAudioError (in plain words), each naming the recording and the
    source; no raw bytes stay in the work folder; the batch fails only this partition.
    """
    target = paths.audio(spec.recording_id)
    try:
        previous = read_audio_provenance(paths, spec.recording_id)
    except ValueError:  # an unreadable sidecar is rewritten below
        previous = None
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
        declared_seconds=downloaded.declared_seconds
        if downloaded.declared_seconds is not None or previous is None
        else previous.declared_seconds,
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
        "declared_seconds": provenance.declared_seconds,
    }


def read_audio_provenance(paths: Chopin2021Paths, recording_id: str) -> AudioProvenance | None:
    path = audio_provenance_path(paths, recording_id)
    if not (path.is_file() and paths.audio(recording_id).is_file()):
        return None
    return AudioProvenance.model_validate_json(path.read_text(encoding="utf-8"))


# -- segments and embeddings (the shared engine) ----------------------------------------------


def segment_table_path(paths: Chopin2021Paths, recording_id: str) -> Path:
    return paths.segments_dir / f"{validate_key(recording_id)}.json"


def plan_recording_segments(
    spec: RecordingSpec, paths: Chopin2021Paths, policy: SegmentPolicy
) -> dict[str, Any]:
    """Write the engine's segment table of one recording (from its converted WAV)."""
    audio = paths.audio(spec.recording_id)
    if not audio.is_file():
        raise TierError(
            f"recording {spec.recording_id}: no audio at {audio}; materialize chopin2021_audio"
        )
    info = probe_wav(audio)
    segments = plan_segments(spec.recording_id, info.duration_s, policy)
    if not segments:
        raise TierError(
            f"recording {spec.recording_id}: {info.duration_s:.1f} s is too short for one segment"
        )
    write_segment_table(segment_table_path(paths, spec.recording_id), segments)
    return {
        "segments": len(segments),
        "seconds": round(info.duration_s, 3),
        "tail_seconds": round(segments[-1].duration_s, 3),
        "table": str(segment_table_path(paths, spec.recording_id)),
    }


def embed_recordings_batch(
    specs: list[RecordingSpec],
    paths: Chopin2021Paths,
    embedder: Embedder,
    policy: SegmentPolicy,
) -> dict[str, dict[str, Any] | Exception]:
    """MuQ embeddings of several recordings in one engine call (batched across recordings)."""
    recordings = [
        RecordingAudio(
            spec.recording_id,
            paths.audio(spec.recording_id),
            {"tier": "chopin2021", "source_url": spec.source_url, "video_id": spec.video_id},
        )
        for spec in specs
    ]
    outcomes = embed_recordings(recordings, embedder, paths.embeddings_dir, policy)
    result: dict[str, dict[str, Any] | Exception] = {}
    for outcome in outcomes:
        if not outcome.ok:
            result[outcome.recording_id] = TierError(
                f"recording {outcome.recording_id}: {outcome.error}"
            )
            continue
        result[outcome.recording_id] = {
            "segments": outcome.n_segments,
            "path": str(outcome.path),
            "reused_existing": outcome.skipped_existing,
            "embedder": embedder.label,
            "random_weights": embedder.is_random,
        }
    return result


@dataclass
class WrittenMetadata:
    segments: list[SegmentRecord]
    results: CompetitionResults
    missing: list[str]
    embedder_label: str


def write_metadata(paths: Chopin2021Paths, registered: list[str]) -> WrittenMetadata:
    """metadata.jsonl (one line per embedded segment) and results.jsonl, written together."""
    resolved_rows = published_results(paths)  # resolved, then the derived stage I pianists
    results = results_from_rows(resolved_rows)
    catalog = catalog_by_key(read_catalog(paths.catalog))
    rows: list[SegmentRecord] = []
    missing: list[str] = []
    label = ""
    for recording_id in registered:
        spec = catalog.get(recording_id)
        path = embedding_path(paths.embeddings_dir, recording_id)
        if spec is None or not path.is_file():
            missing.append(recording_id)
            continue
        provenance = read_provenance(path)
        label = provenance.get("embedder_label", label)
        performer = results.find(spec.performer)
        resolved = next((r for r in resolved_rows if r.performer == spec.performer), None)
        rows.extend(
            segment_records(
                spec,
                performer,
                [(s.index, s.start_s, s.end_s) for s in load_segments(path)],
                embedding_file=str(path.relative_to(paths.root)),
                provenance=SegmentProvenance(
                    video_id=spec.video_id,
                    video_title=spec.title,
                    results_source=resolved.source if resolved else "catalog",
                    results_citations=list(resolved.citations) if resolved else [],
                    audio_sha256=provenance.get("audio_sha256"),
                    embedder=provenance.get("embedder_label", ""),
                    embedder_is_random=provenance.get("random_weights") == "true",
                ),
            )
        )
    # Both files go to temporary names first and are renamed together at the end, so a crash
    # never leaves a new metadata.jsonl beside an old results.jsonl.
    with atomic_path(paths.metadata) as metadata_tmp, atomic_path(paths.results) as results_tmp:
        write_jsonl(metadata_tmp, rows)
        write_jsonl(results_tmp, resolved_rows)
    return WrittenMetadata(rows, results, missing, label)


def every_recording_complete(paths: Chopin2021Paths, registered: list[str]) -> Verdict:
    """Every registered recording has audio, a segment table, embeddings and metadata lines."""
    from piano_assets.chopin2021.validation import Verdict

    in_metadata: set[str] = set()
    if paths.metadata.is_file():
        in_metadata = {row.recording_id for row in read_jsonl(paths.metadata, SegmentRecord)}
    problems: dict[str, list[str]] = {}
    labels: set[str] = set()
    for recording_id in registered:
        missing = []
        if not paths.audio(recording_id).is_file():
            missing.append("audio")
        if not segment_table_path(paths, recording_id).is_file():
            missing.append("segment table")
        embeddings = embedding_path(paths.embeddings_dir, recording_id)
        if embeddings.is_file():
            labels.add(read_provenance(embeddings).get("embedder_label", "?"))
        else:
            missing.append("embeddings")
        if recording_id not in in_metadata:
            missing.append("metadata lines")
        if missing:
            problems[recording_id] = missing
    embedder = "; ".join(sorted(labels)) or "none"
    if not registered:
        return Verdict(False, "no recordings are registered: materialize the video catalog")
    if problems:
        listing = ", ".join(f"{key} ({', '.join(what)})" for key, what in problems.items())
        return Verdict(
            False,
            f"{len(problems)} of {len(registered)} recordings incomplete: {listing}. "
            f"Embedder: {embedder}",
            {"incomplete": problems},
        )
    return Verdict(
        True,
        f"all {len(registered)} registered recordings have audio, segments, embeddings and "
        f"metadata. Embedder: {embedder}",
        {"recordings": len(registered), "embedder": embedder},
    )
