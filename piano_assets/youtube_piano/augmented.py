"""T4's augmented embeddings, without Dagster: the shared engine over each recording's segment
table with a seeded augmentation chain as its per-segment transform, one file per version.

Each augmented file's provenance names the augmentation scheme, version and config hash, so it
is never taken for a clean one, and a re-run skips a file whose provenance still matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from piano_assets.engine import (
    Embedder,
    EngineConfig,
    RecordingAudio,
    SegmentPolicy,
    embed_recordings,
)
from piano_assets.engine.segment import read_segment_table
from piano_assets.lib.recording_steps import RecordingStepError, ready_to_embed
from piano_assets.youtube_piano.augment import AugmentationConfig, SegmentAugmenter
from piano_assets.youtube_piano.paths import TIER, YoutubePianoPaths, augmented_key


def embed_augmented(
    recording_ids: Sequence[str],
    paths: YoutubePianoPaths,
    embedder: Embedder,
    policy: SegmentPolicy,
    config: AugmentationConfig,
    progress: Callable[[str], None] | None = None,
    engine: EngineConfig | None = None,
) -> dict[str, dict[str, Any] | Exception]:
    """`config.versions_per_segment` augmented embedding files per recording."""
    recordings = paths.recordings()
    results: dict[str, dict[str, Any] | Exception] = {}
    jobs: list[tuple[str, int, RecordingAudio]] = []
    for recording_id, record, table in ready_to_embed(
        recordings, recording_ids, f"{TIER}_segments", results
    ):
        segments = read_segment_table(table)
        for version in range(1, config.versions_per_segment + 1):
            audio = RecordingAudio(
                recording_id,
                recordings.audio(recording_id),
                {
                    "tier": TIER,
                    "source_url": record.source_url,
                    "source_sha256": record.source_sha256 or "unknown",
                    "video_id": str(record.details.get("video_id", "")),
                },
                segments=segments,
                segment_transform=SegmentAugmenter(config, version),
                output_key=augmented_key(recording_id, version),
            )
            jobs.append((recording_id, version, audio))
    outcomes = embed_recordings(
        [audio for _, _, audio in jobs],
        embedder,
        paths.augmented_dir,
        policy,
        progress,
        config=engine,
    )
    by_recording: dict[str, list[tuple[int, Any]]] = {}
    for (recording_id, version, _), outcome in zip(jobs, outcomes, strict=True):
        by_recording.setdefault(recording_id, []).append((version, outcome))
    for recording_id, versions in by_recording.items():
        failed = [(v, o) for v, o in versions if not o.ok]
        if failed:
            results[recording_id] = RecordingStepError(
                f"recording {recording_id}: augmented version "
                + "; ".join(f"{v}: {o.error}" for v, o in failed)
            )
            continue
        results[recording_id] = {
            "versions": len(versions),
            "segments": versions[0][1].n_segments,
            "paths": ", ".join(paths.recordings().relative(o.path) for _, o in versions),
            "reused_existing": all(o.skipped_existing for _, o in versions),
            "augmentation_config_sha256": config.sha256(),
            "embedder": embedder.label,
            "random_weights": embedder.is_random,
        }
    return {rid: results[rid] for rid in recording_ids}
