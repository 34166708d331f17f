"""The per-recording work every tier shares, without Dagster.

audio: the adapter fetches the source file into a scratch folder → ffmpeg converts it to 24 kHz
  mono 16-bit WAV (validating it: decodable, not empty, not silent) → the decoded duration is
  compared with every duration the source declared (the container header, the source's metadata)
  → the recording must be long enough for one segment → the WAV is moved into place and its
  `AudioRecord` written. Scratch is removed whatever happens; nothing partial is ever left where
  a finished file is expected.
segments: the segment table of the finished WAV, by the segment policy (header read only).
embeddings: the shared engine embeds exactly the windows of that table.
completeness: which registered recordings lack audio, segments or embeddings.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piano_assets.engine import (
    AudioError,
    AudioInfo,
    Embedder,
    EngineConfig,
    RecordingAudio,
    Segment,
    SegmentPolicy,
    convert_to_wav,
    embed_recordings,
    plan_segments,
    read_provenance,
    read_segment_table,
    write_segment_table,
)
from piano_assets.engine.files import atomic_write_text, sha256_file
from piano_assets.lib.tier import AudioRecord, FetchedAudio, RecordingPaths, RecordingSource
from piano_assets.sources.sniff import SNIFF_BYTES, sniff
from piano_assets.sources.wav import InvalidWavError, declared_wav_seconds, read_wav_header

SAMPLE_RATE = 24_000
CONVERTER = {"sample_rate": str(SAMPLE_RATE), "channels": "1", "sample_format": "s16le"}


class RecordingStepError(RuntimeError):
    """A recording cannot go through a step; the message names it and the cause."""


@dataclass(frozen=True)
class DurationTolerance:
    """How far a decoded duration may differ from a declared one: `seconds`, or `fraction` of
    the declared duration when that is more (containers and metadata round differently)."""

    seconds: float = 2.0
    fraction: float = 0.01

    def allowed(self, declared: float) -> float:
        return max(self.seconds, self.fraction * declared)


@dataclass(frozen=True)
class AudioOutcome:
    record: AudioRecord
    reused: bool

    def metadata(self, paths: RecordingPaths) -> dict[str, Any]:
        record = self.record
        return {
            "path": record.audio_file,
            "seconds": record.seconds,
            "sha256": record.sha256,
            "source_url": record.source_url,
            "source_sha256": record.source_sha256 or "unknown",
            "declared_seconds": json.dumps(record.declared_seconds, sort_keys=True),
            "reused_existing": self.reused,
        }


def finished_audio(paths: RecordingPaths, recording_id: str) -> AudioRecord | None:
    """The record of a finished conversion, or None.

    The record is written after the WAV (both atomically), so its presence means the WAV is
    complete; the size check catches a WAV replaced since (no re-hash: 35 GB at full scale).
    """
    wav, record_path = paths.audio(recording_id), paths.audio_record(recording_id)
    if not (wav.is_file() and record_path.is_file()):
        return None
    try:
        record = AudioRecord.model_validate_json(record_path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return record if record.bytes == wav.stat().st_size else None


def minimum_seconds(policy: SegmentPolicy) -> float:
    """The shortest recording that still gives one segment under `policy`."""
    return min(policy.segment_seconds, policy.min_tail_seconds) or 1 / SAMPLE_RATE


def prepare_audio(
    source: RecordingSource,
    recording_id: str,
    paths: RecordingPaths,
    policy: SegmentPolicy,
    tolerance: DurationTolerance,
) -> AudioOutcome:
    """Fetch, convert and check one recording's audio; reuse a finished one."""
    done = finished_audio(paths, recording_id)
    if done is not None:
        return AudioOutcome(done, reused=True)
    scratch = paths.scratch(recording_id)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        fetched = source.fetch(recording_id, scratch)
        converted = scratch / "converted-24k.wav"
        try:
            info = convert_to_wav(
                fetched.path, converted, SAMPLE_RATE, min_seconds=minimum_seconds(policy)
            )
        except AudioError as err:
            raise RecordingStepError(
                f"recording {recording_id}: the audio from {fetched.source_url} is unusable: "
                f"{_plain_audio_problem(fetched.path, err)}"
            ) from err
        declared = dict(fetched.declared_seconds)
        container = _container_seconds(fetched.path)
        if container is not None:
            declared["container header"] = round(container, 3)
        check_durations(recording_id, fetched.source_url, info.duration_s, declared, tolerance)
        if not plan_segments(recording_id, info.duration_s, policy):
            raise RecordingStepError(
                f"recording {recording_id}: {info.duration_s:.2f} s of audio from "
                f"{fetched.source_url} gives no {policy.segment_seconds:g} s segment "
                f"(the shortest kept is {policy.min_tail_seconds:g} s)"
            )
        record = _audio_record(recording_id, paths, fetched, declared, info)
        target = paths.audio(recording_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        _move_into_place(converted, target)
        atomic_write_text(paths.audio_record(recording_id), record.model_dump_json(indent=2) + "\n")
        return AudioOutcome(record, reused=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_durations(
    recording_id: str,
    source_url: str,
    decoded_s: float,
    declared: Mapping[str, float],
    tolerance: DurationTolerance,
) -> None:
    """Raise when the decoded audio is shorter or longer than what a source declared."""
    problems = [
        f"{name} says {seconds:.1f} s"
        for name, seconds in sorted(declared.items())
        if abs(seconds - decoded_s) > tolerance.allowed(seconds)
    ]
    if problems:
        raise RecordingStepError(
            f"recording {recording_id}: the audio from {source_url} decodes to "
            f"{decoded_s:.1f} s but the {'; the '.join(problems)} (tolerance "
            f"{tolerance.seconds:g} s or {tolerance.fraction:.0%}): truncated or wrong file"
        )


def _container_seconds(path: Path) -> float | None:
    """The duration a WAV's header declares (even when the data behind it is cut short)."""
    try:
        return declared_wav_seconds(path)
    except (InvalidWavError, OSError):
        return None  # not a WAV: ffmpeg's decode is the only measure


def _plain_audio_problem(path: Path, err: AudioError) -> str:
    """Say in plain terms what the file is when it is not audio at all (the scratch path the
    engine names is gone by the time anyone reads the message)."""
    cause = str(err).removeprefix(f"{path}: ")
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return cause
    found = sniff(head)
    if not head or found.media is not None:
        return cause  # empty, or an audio container ffmpeg could not decode: its own words
    if found.what.startswith("an HTML page"):
        return f"it is a web page (HTML), not audio: {found.what}"
    return f"it is not an audio file ffmpeg recognises: it holds {found.what}"


def _audio_record(
    recording_id: str,
    paths: RecordingPaths,
    fetched: FetchedAudio,
    declared: dict[str, float],
    converted: AudioInfo,
) -> AudioRecord:
    """`converted`: what the converter measured of the WAV it wrote (hashed once, there)."""
    header = read_wav_header(converted.path)
    return AudioRecord(
        recording_id=recording_id,
        tier=paths.tier,
        source_url=fetched.source_url,
        source_sha256=fetched.source_sha256 or sha256_file(fetched.path),
        source_bytes=fetched.path.stat().st_size,
        declared_seconds=declared,
        converter={**CONVERTER, "ffmpeg": _ffmpeg_version()},
        audio_file=paths.relative(paths.audio(recording_id)),
        sample_rate=header.sample_rate,
        channels=header.channels,
        seconds=round(converted.duration_s, 3),
        bytes=converted.path.stat().st_size,
        sha256=converted.sha256,
        details=dict(fetched.details),
    )


def _ffmpeg_version() -> str:
    from piano_assets.engine.ffmpeg import ffmpeg_version

    return ffmpeg_version()


def _move_into_place(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError:  # another filesystem: copy beside the target, then rename
        tmp = target.with_name(f".{target.name}.moving")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)


# -- segments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentsOutcome:
    segments: list[Segment]
    seconds: float
    table: Path
    reused: bool = False

    def metadata(self, paths: RecordingPaths) -> dict[str, Any]:
        return {
            "reused_existing": self.reused,
            "segments": len(self.segments),
            "seconds": round(self.seconds, 3),
            "tail_seconds": round(self.segments[-1].duration_s, 3) if self.segments else 0.0,
            "table": paths.relative(self.table),
        }


def plan_recording_segments(
    recording_id: str, paths: RecordingPaths, policy: SegmentPolicy, audio_asset: str
) -> SegmentsOutcome:
    """Write the segment table of one recording's finished WAV (the embeddings follow it)."""
    if finished_audio(paths, recording_id) is None:
        raise RecordingStepError(
            f"recording {recording_id}: no finished audio at {paths.audio(recording_id)}; "
            f"materialize {audio_asset}"
        )
    seconds = read_wav_header(paths.audio(recording_id)).seconds
    segments = plan_segments(recording_id, seconds, policy)
    if not segments:
        raise RecordingStepError(
            f"recording {recording_id}: {seconds:.2f} s is too short for one segment"
        )
    table = paths.segment_table(recording_id)
    reused = table.is_file() and _same_table(table, segments)
    if not reused:
        write_segment_table(table, segments)
    return SegmentsOutcome(segments, seconds, table, reused)


def _same_table(path: Path, segments: list[Segment]) -> bool:
    try:
        return read_segment_table(path) == segments
    except ValueError:
        return False


# -- embeddings --------------------------------------------------------------------------------


def ready_to_embed(
    paths: RecordingPaths,
    recording_ids: Sequence[str],
    segments_asset: str,
    results: dict[str, dict[str, Any] | Exception],
) -> Iterator[tuple[str, AudioRecord, Path]]:
    """(key, audio record, segment table) of each recording whose audio and segments are done;
    each other recording gets an error in `results` naming the asset to materialize."""
    for recording_id in recording_ids:
        record = finished_audio(paths, recording_id)
        table = paths.segment_table(recording_id)
        if record is None or not table.is_file():
            results[recording_id] = RecordingStepError(
                f"recording {recording_id}: no segment table at {table}; "
                f"materialize {segments_asset}"
            )
            continue
        yield recording_id, record, table


def embed_recording_batch(
    recording_ids: Sequence[str],
    paths: RecordingPaths,
    embedder: Embedder,
    policy: SegmentPolicy,
    extra_provenance: Callable[[AudioRecord], Mapping[str, str]],
    segments_asset: str,
    progress: Callable[[str], None] | None = None,
    config: EngineConfig | None = None,
) -> dict[str, dict[str, Any] | Exception]:
    """MuQ embeddings of several recordings in one engine call (batched across recordings),
    exactly the windows of each recording's segment table."""
    results: dict[str, dict[str, Any] | Exception] = {}
    recordings: list[RecordingAudio] = []
    tables: dict[str, list[Segment]] = {}
    for recording_id, record, table in ready_to_embed(
        paths, recording_ids, segments_asset, results
    ):
        try:
            tables[recording_id] = read_segment_table(table)
        except ValueError as err:
            results[recording_id] = RecordingStepError(f"recording {recording_id}: {err}")
            continue
        provenance = {
            **extra_provenance(record),
            "tier": paths.tier,
            "source_url": record.source_url,
            "source_sha256": record.source_sha256 or "unknown",
            "converter": json.dumps(record.converter, sort_keys=True),
        }
        recordings.append(
            RecordingAudio(
                recording_id,
                paths.audio(recording_id),
                provenance,
                segments=tables[recording_id],
            )
        )
    outcomes = embed_recordings(
        recordings, embedder, paths.embeddings_dir, policy, progress, config=config
    )
    for outcome in outcomes:
        rid = outcome.recording_id
        if not outcome.ok or outcome.path is None:
            results[rid] = RecordingStepError(f"recording {rid}: {outcome.error}")
            continue
        results[rid] = {
            "segments": outcome.n_segments,
            "path": paths.relative(outcome.path),
            "reused_existing": outcome.skipped_existing,
            "embedder": embedder.label,
            "random_weights": embedder.is_random,
        }
    return {rid: results[rid] for rid in recording_ids}


# -- completeness ------------------------------------------------------------------------------


@dataclass
class Completeness:
    """What the registered recordings of a tier have on disk (header reads only: cheap)."""

    registered: int
    incomplete: dict[str, list[str]] = field(default_factory=dict)
    embedders: dict[str, int] = field(default_factory=dict)  # label -> files
    # Incomplete recordings the source will never give (removed, private), with the reason:
    # not missing work, so they do not fail completeness; they are named wherever it is told.
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.registered > 0 and not self.incomplete

    @property
    def embedder_summary(self) -> str:
        return "; ".join(sorted(self.embedders)) or "none"

    def describe(self, shown: int = 10) -> str:
        if self.registered == 0:
            return "no recordings are registered: materialize the catalog"
        excluded = ""
        if self.unavailable:
            names = ", ".join(list(self.unavailable)[:shown])
            excluded = (
                f" {len(self.unavailable)} permanently unavailable at the source (removed or "
                f"private; never retried) and excluded: {names}."
            )
        if not self.incomplete:
            complete = self.registered - len(self.unavailable)
            return (
                f"all {complete} available registered recordings have audio, segments and "
                f"embeddings.{excluded} Embedder: {self.embedder_summary}"
            )
        listing = ", ".join(
            f"{key} ({', '.join(what)})" for key, what in list(self.incomplete.items())[:shown]
        )
        more = len(self.incomplete) - shown
        return (
            f"{len(self.incomplete)} of {self.registered} recordings incomplete: {listing}"
            + (f", … and {more} more" if more > 0 else "")
            + f".{excluded} Embedder: {self.embedder_summary}"
        )


def completeness(
    paths: RecordingPaths,
    registered: Sequence[str],
    unavailable: Mapping[str, str] | None = None,
) -> Completeness:
    """`unavailable`: recordings the source called permanently gone (from the failure ledger)."""
    gone = unavailable or {}
    result = Completeness(registered=len(registered))
    labels: Counter[str] = Counter()
    for recording_id in registered:
        missing: list[str] = []
        if finished_audio(paths, recording_id) is None:
            missing.append("audio")
        if not paths.segment_table(recording_id).is_file():
            missing.append("segments")
        embeddings = paths.embeddings(recording_id)
        if embeddings.is_file():
            try:
                labels[read_provenance(embeddings).get("embedder_label", "unknown embedder")] += 1
            except (OSError, ValueError, KeyError):
                missing.append("readable embeddings")
        else:
            missing.append("embeddings")
        if missing and recording_id in gone:
            result.unavailable[recording_id] = gone[recording_id]
        elif missing:
            result.incomplete[recording_id] = missing
    result.embedders = dict(labels)
    return result
