"""The MAESTRO tier, per recording, without Dagster: metadata → recordings table, original WAV
(zip member or folder file) → 24 kHz mono WAV, engine embeddings and their coverage."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from piano_assets.engine import (
    AudioError,
    Embedder,
    RecordingAudio,
    SegmentPolicy,
    convert_to_wav,
    embed_recordings,
    embedding_path,
    plan_segments,
)
from piano_assets.engine.files import atomic_write_text
from piano_assets.engine.store import load_segments, read_provenance
from piano_assets.maestro import records
from piano_assets.maestro.archive import (
    SOURCE_SAMPLE_RATES,
    ZIP_NAME,
    ZIP_SHA256,
    AudioSource,
    MaestroArchiveError,
    default_source_path,
    download_zip,
    open_audio_source,
    read_wav_format,
    verification_stamp,
    verify_zip_sha256,
)
from piano_assets.maestro.metadata import (
    MaestroMetadataError,
    find_metadata_file,
    parse_maestro_metadata,
    read_maestro_metadata,
)
from piano_assets.maestro.paths import TARGET_SAMPLE_RATE, TIER, MaestroPaths
from piano_assets.maestro.pieces import (
    build_piece_map,
    piece_stats,
)
from piano_assets.maestro.tables import write_parquet
from piano_assets.sources.errors import SourceError

# -- recordings ----------------------------------------------------------------------------

log = logging.getLogger(__name__)


def read_source_metadata(paths: MaestroPaths, source_path: Path | None) -> tuple[pl.DataFrame, str]:
    """The v3 metadata from `maestro_cache/`, else from inside the configured source."""
    try:
        found = find_metadata_file(paths.cache)
    except MaestroMetadataError:
        source_path = source_path or default_source_path(paths.cache)
        if source_path is None or not source_path.exists():
            raise
        packed = open_audio_source(source_path).read_metadata()
        if packed is None:
            raise
        member, data = packed
        where = f"{source_path}!{member}" if source_path.is_file() else member
        return parse_maestro_metadata(data, member, source=where), where
    return read_maestro_metadata(found), str(found)


def write_recordings(
    paths: MaestroPaths, frame: pl.DataFrame, source: str, added: list[str]
) -> records.RecordingsManifest:
    source = paths.relative(source)
    digest = write_parquet(frame, paths.recordings_table, {"metadata_source": source})
    manifest = records.RecordingsManifest(
        metadata_source=source,
        metadata_sha256=digest,
        recordings=frame.height,
        hours=round(float(frame["duration"].sum()) / 3600, 3),
        splits=dict(frame.group_by("split").len().sort("split").iter_rows()),
        partitions_added=added,
    )
    atomic_write_text(paths.recordings_manifest, manifest.model_dump_json(indent=2) + "\n")
    return manifest


def load_recordings(paths: MaestroPaths) -> pl.DataFrame:
    if not paths.recordings_table.is_file():
        raise MaestroMetadataError(
            f"{paths.recordings_table} is missing: materialize maestro_recordings first"
        )
    return pl.read_parquet(paths.recordings_table)


# -- audio ---------------------------------------------------------------------------------


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


def audio_is_done(paths: MaestroPaths, recording_id: str) -> bool:
    """A finished conversion has its WAV and its provenance, and they agree.

    The provenance is written after the WAV (both atomically), so its presence means the WAV
    is complete; the size check catches a WAV replaced since. (No re-hash: 35 GB at full scale.)
    """
    wav, provenance = paths.audio(recording_id), paths.audio_provenance(recording_id)
    if not (wav.is_file() and provenance.is_file()):
        return False
    try:
        recorded = records.AudioProvenance.model_validate_json(provenance.read_text("utf-8"))
    except ValueError:
        return False
    return recorded.bytes == wav.stat().st_size


def convert_recording_audio(
    paths: MaestroPaths, row: Mapping[str, Any], resolver: AudioSourceResolver
) -> dict[str, Any]:
    """Original WAV (44.1/48 kHz stereo) → `audio_24k/<id>.wav` (24 kHz mono) + provenance."""
    recording_id = row["recording_id"]
    if audio_is_done(paths, recording_id):
        recorded = records.AudioProvenance.model_validate_json(
            paths.audio_provenance(recording_id).read_text("utf-8")
        )
        return _audio_metadata(paths, recorded, reused=True)
    source = resolver.get()
    staged = paths.work_dir / "members" / f"{recording_id}.wav"
    fetched = source.copy_member(row["audio_filename"], staged)
    try:
        original = fetched.wav_format
        if original is not None and original.sample_rate not in SOURCE_SAMPLE_RATES:
            log.warning(
                "%s: source is %s Hz, not 44.1/48 kHz; converting anyway",
                recording_id,
                original.sample_rate,
            )
        target = paths.audio(recording_id)
        try:
            info = convert_to_wav(fetched.path, target, TARGET_SAMPLE_RATE)
        except AudioError as err:
            raise MaestroArchiveError(
                f"{recording_id}: {fetched.member} from {fetched.source_path}: {err}"
            ) from err
    finally:
        if fetched.source_kind == "zip":
            fetched.path.unlink(missing_ok=True)
    converted = read_wav_format(target)
    if converted is None or converted.sample_rate != TARGET_SAMPLE_RATE or converted.channels != 1:
        raise MaestroArchiveError(f"{recording_id}: {target} is not 24 kHz mono after conversion")
    provenance = records.AudioProvenance(
        recording_id=recording_id,
        audio_filename=row["audio_filename"],
        source_kind=fetched.source_kind,
        source_path=paths.relative(fetched.source_path),
        member=fetched.member,
        source_bytes=fetched.bytes,
        source_sample_rate=original.sample_rate if original else None,
        source_channels=original.channels if original else None,
        sample_rate=TARGET_SAMPLE_RATE,
        channels=1,
        seconds=round(info.duration_s, 3),
        bytes=target.stat().st_size,
        sha256=info.sha256,
    )
    atomic_write_text(
        paths.audio_provenance(recording_id), provenance.model_dump_json(indent=2) + "\n"
    )
    return _audio_metadata(paths, provenance, reused=False)


def _audio_metadata(
    paths: MaestroPaths, provenance: records.AudioProvenance, reused: bool
) -> dict[str, Any]:
    return {
        "path": str(paths.audio(provenance.recording_id)),
        "seconds": provenance.seconds,
        "source": f"{provenance.source_kind}: {provenance.member}",
        "source_format": f"{provenance.source_sample_rate} Hz, {provenance.source_channels} ch",
        "sha256": provenance.sha256,
        "reused": reused,
    }


def row_of(rows: Mapping[str, Mapping[str, Any]], recording_id: str) -> Mapping[str, Any]:
    row = rows.get(recording_id)
    if row is None:
        raise MaestroMetadataError(
            f"recording {recording_id} is a registered partition but not in "
            f"{records.RECORDINGS_TABLE}: materialize maestro_recordings again"
        )
    return row


def recordings_metadata(
    paths: MaestroPaths, frame: pl.DataFrame, manifest: records.RecordingsManifest
) -> dict[str, Any]:
    import dagster as dg  # metadata values only; the logic stays Dagster-free

    stats = piece_stats(build_piece_map(frame))
    return {
        "recordings": manifest.recordings,
        "hours": manifest.hours,
        "splits": dg.MetadataValue.json(manifest.splits),
        "partitions_added": len(manifest.partitions_added),
        "metadata_source": manifest.metadata_source,
        "raw_multi_performance_titles": stats.raw_multi_performance_pieces,
        "normalized_multi_performance_pieces": stats.multi_performance_pieces,
        "performances": stats.performances,
        "table": dg.MetadataValue.path(str(paths.recordings_table)),
        "preview": dg.MetadataValue.md(
            markdown_table(
                frame.select("recording_id", "canonical_composer", "canonical_title", "split")
                .head(10)
                .rows(),
                ["recording_id", "composer", "title", "split"],
            )
        ),
    }


def markdown_table(rows: list[tuple[Any, ...]], header: list[str]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, (list, tuple)):
            value = "; ".join(str(v) for v in value)
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# -- embeddings (the shared engine) ----------------------------------------------------------


class MaestroEmbeddingError(RuntimeError):
    """The engine could not embed a recording; the message names it and the cause."""


def embed_recordings_stage(
    paths: MaestroPaths,
    recording_ids: list[str],
    embedder: Embedder,
    policy: SegmentPolicy,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any] | Exception]:
    """24 kHz WAVs → 30 s segments → MuQ, batched across recordings, one file per recording."""
    recordings = [
        RecordingAudio(
            recording_id=rid, audio_path=paths.audio(rid), extra_provenance={"tier": TIER}
        )
        for rid in recording_ids
    ]
    outcomes = embed_recordings(recordings, embedder, paths.embeddings_dir, policy, progress)
    results: dict[str, dict[str, Any] | Exception] = {}
    for outcome in outcomes:
        if not outcome.ok:
            results[outcome.recording_id] = MaestroEmbeddingError(
                f"{outcome.recording_id}: {outcome.error}"
            )
            continue
        results[outcome.recording_id] = {
            "path": str(outcome.path),
            "segments": outcome.n_segments,
            "skipped_existing": outcome.skipped_existing,
            "embedder": embedder.label,
            "random_weights": embedder.is_random,
        }
    return results


@dataclass
class EmbeddingCoverage:
    """What the store holds for a set of recordings (headers only: cheap)."""

    embedded: list[str]
    segments: int
    seconds: float
    labels: dict[str, records.EmbedderLabel]
    unreadable: dict[str, str]
    table: pl.DataFrame  # recording_id, segment_id, segment_index, start_s, end_s


_SEGMENT_SCHEMA: dict[str, pl.DataType] = {
    "recording_id": pl.String(),
    "segment_id": pl.String(),
    "segment_index": pl.Int64(),
    "start_s": pl.Float64(),
    "end_s": pl.Float64(),
}


def embedding_coverage(paths: MaestroPaths, recording_ids: list[str]) -> EmbeddingCoverage:
    embedded: list[str] = []
    labels: dict[str, records.EmbedderLabel] = {}
    unreadable: dict[str, str] = {}
    rows: list[tuple[str, str, int, float, float]] = []
    for rid in recording_ids:
        path = embedding_path(paths.embeddings_dir, rid)
        if not path.is_file():
            continue
        try:
            provenance = read_provenance(path)
            segments = load_segments(path)
        except (ValueError, OSError, KeyError) as err:
            unreadable[rid] = f"{path}: {err}"
            continue
        embedded.append(rid)
        labels[rid] = label_from_provenance(provenance)
        rows += [(rid, s.segment_id, s.index, s.start_s, s.end_s) for s in segments]
    table = pl.DataFrame(rows, schema=_SEGMENT_SCHEMA, orient="row")
    return EmbeddingCoverage(
        embedded=embedded,
        segments=table.height,
        seconds=float((table["end_s"] - table["start_s"]).sum()) if table.height else 0.0,
        labels=labels,
        unreadable=unreadable,
        table=table,
    )


def label_from_provenance(provenance: Mapping[str, str]) -> records.EmbedderLabel:
    return records.EmbedderLabel(
        name=provenance.get("model_id", "unknown"),
        random_weights=provenance.get("random_weights", "true") != "false",
        label=provenance.get("embedder_label", "unknown embedder (no label stored)"),
    )


def combined_label(coverage: EmbeddingCoverage) -> records.EmbedderLabel | None:
    """One label for a derived output; mixed embedders are named together, random first."""
    labels = {label.label: label for label in coverage.labels.values()}
    if not labels:
        return None
    if len(labels) == 1:
        return next(iter(labels.values()))
    ordered = sorted(labels.values(), key=lambda lab: (not lab.random_weights, lab.label))
    return records.EmbedderLabel(
        name=" + ".join(lab.name for lab in ordered),
        random_weights=any(lab.random_weights for lab in ordered),
        label="MIXED embedders: " + " | ".join(lab.label for lab in ordered),
    )


def planned_segments(recordings: pl.DataFrame, policy: SegmentPolicy) -> pl.DataFrame:
    """The segment table the engine's policy gives for the metadata durations (for sizing)."""
    rows = [
        (s.recording_id, s.segment_id, s.index, s.start_s, s.end_s)
        for rid, duration in recordings.select("recording_id", "duration").iter_rows()
        for s in plan_segments(rid, duration, policy)
    ]
    return pl.DataFrame(rows, schema=_SEGMENT_SCHEMA, orient="row")
