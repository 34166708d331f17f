"""The `maestro` group: MAESTRO v3 as an audio pretraining corpus (thin wiring over `stages`).

maestro_recordings (registers one partition per recording)
  → maestro_audio → maestro_muq_embeddings   (one multi-asset, per recording, batched runs)
  → maestro_piece_performer_map → maestro_contrastive_pairs
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from piano_assets.maestro import adapter, outputs
from piano_assets.maestro.pairs import PairPolicy
from piano_assets.maestro.partitions import MAESTRO_PARTITIONS_NAME, maestro_recordings_partitions
from piano_assets.maestro.paths import TIER, MaestroPaths
from piano_assets.partitioned import RecordingBatch, add_new_partitions
from piano_assets.resources import ModelRepoResource, MuqEmbedderResource, SourceUrlsResource
from piano_assets.settings import load_settings

GROUP = "maestro"
AUDIO = dg.AssetKey("maestro_audio")
EMBEDDINGS = dg.AssetKey("maestro_muq_embeddings")


def _partitions_per_run() -> int:
    return load_settings().backfill_partitions_per_run


@dg.asset(
    group_name=GROUP,
    deps=["maestro_cache"],
    kinds={"polars", "parquet"},
    description=(
        "MAESTRO v3 metadata (CSV or column-oriented JSON in maestro_cache/, else inside the "
        "zip), validated and keyed: one dynamic partition per recording, key from audio_filename."
    ),
)
def maestro_recordings(
    context: dg.AssetExecutionContext,
    model_repo: ModelRepoResource,
    source_urls: SourceUrlsResource,
) -> dg.MaterializeResult:
    paths = MaestroPaths(model_repo.layout())
    source_path = Path(source_urls.maestro_source) if source_urls.maestro_source else None
    frame, where = adapter.read_source_metadata(paths, source_path)
    added = add_new_partitions(context.instance, MAESTRO_PARTITIONS_NAME, frame["recording_id"])
    manifest = adapter.write_recordings(paths, frame, where, added)
    context.log.info(
        f"{manifest.recordings} MAESTRO recordings ({manifest.hours} h) from {where}; "
        f"{len(added)} new partitions"
    )
    return dg.MaterializeResult(metadata=adapter.recordings_metadata(paths, frame, manifest))


class MaestroAudioConfig(dg.Config):
    verify_zip_sha256: bool = Field(
        default=False,
        description="Hash the MAESTRO zip (101 GB: minutes) before reading it; once per file.",
    )
    expected_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the zip; default: source_urls.maestro_sha256, else the "
        "published one of maestro-v3.0.0.zip.",
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            AUDIO,
            deps=["maestro_recordings"],
            partitions_def=maestro_recordings_partitions,
            group_name=GROUP,
            kinds={"ffmpeg", "wav"},
            skippable=True,
            description="Per recording: the original 44.1/48 kHz stereo WAV, read in place from "
            "the zip (or the extracted folder), as 24 kHz mono in maestro_cache/audio_24k/.",
        ),
        dg.AssetSpec(
            EMBEDDINGS,
            deps=[AUDIO],
            partitions_def=maestro_recordings_partitions,
            group_name=GROUP,
            kinds={"pytorch"},
            skippable=True,
            description="Per recording: 30 s segments and MuQ embeddings in "
            "maestro_cache/muq_embeddings/ (shared engine). Random-weight MuQ is labelled.",
        ),
    ],
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.multi_run(_partitions_per_run()),
    pool="muq",
)
def maestro_audio_and_embeddings(
    context: dg.AssetExecutionContext,
    config: MaestroAudioConfig,
    model_repo: ModelRepoResource,
    muq: MuqEmbedderResource,
    source_urls: SourceUrlsResource,
):
    layout = model_repo.layout()
    paths = MaestroPaths(layout)
    recordings = adapter.load_recordings(paths)
    rows = {row["recording_id"]: row for row in recordings.iter_rows(named=True)}
    resolver = adapter.AudioSourceResolver(
        paths,
        adapter.SourceSettings(
            source_path=Path(source_urls.maestro_source) if source_urls.maestro_source else None,
            url=source_urls.maestro_url,
            expected_sha256=config.expected_sha256 or source_urls.maestro_sha256,
            verify_sha256=config.verify_zip_sha256,
        ),
        progress=context.log.info,
    )
    batch = RecordingBatch(context, TIER, layout.failure_ledgers)

    def audio(recording_id: str) -> dict[str, object]:
        return adapter.convert_recording_audio(paths, adapter.row_of(rows, recording_id), resolver)

    def embed(recording_ids: list[str]) -> dict[str, object]:
        return adapter.embed_recordings_stage(
            paths, recording_ids, muq.get_embedder(), muq.segment_policy(), context.log.info
        )

    batch.run_stage(AUDIO, audio)
    batch.run_batch_stage(EMBEDDINGS, embed)
    yield from batch.finish()


@dg.asset(
    group_name=GROUP,
    deps=[EMBEDDINGS, "atepp_cache"],
    kinds={"polars", "parquet"},
    description=(
        "Recording → work (composer + catalogue number, corrected where MAESTRO is wrong; "
        "rules, then reviewed overrides; unresolved titles listed), scope and performance; "
        "performer by recital proxy (MAESTRO has no names), ATEPP names joined when present. "
        "maestro_cache/piece_performer_map.parquet (+ .json, recordings_per_work.png)."
    ),
)
def maestro_piece_performer_map(
    context: dg.AssetExecutionContext, model_repo: ModelRepoResource
) -> dg.MaterializeResult:
    paths = MaestroPaths(model_repo.layout())
    manifest, metadata = outputs.build_piece_map_stage(paths)
    context.log.info(
        f"{manifest.stats.works} works ({manifest.stats.works_with_2_plus_performers} with 2+ "
        f"performers, {manifest.stats.titles_unresolved} titles unresolved); "
        f"{manifest.recordings_covered}/{manifest.stats.recordings} recordings embedded"
    )
    return dg.MaterializeResult(metadata=metadata)


class ContrastivePairsConfig(dg.Config):
    seed: int = PairPolicy().seed
    positives_per_anchor: int = PairPolicy().positives_per_anchor
    negatives_per_anchor: int = PairPolicy().negatives_per_anchor
    allow_cross_split: bool = Field(
        default=False, description="Let pairs cross train/validation/test (off: never)."
    )


@dg.asset(
    group_name=GROUP,
    deps=["maestro_piece_performer_map"],
    kinds={"polars", "parquet"},
    description=(
        "Segment pairs for contrastive pretraining, seeded: positives = same work at the same "
        "scope, another recital (position-matched); negatives = unrelated works; within one "
        "split. maestro_cache/contrastive_pairs.parquet (+ .json, with the map's sha256)."
    ),
)
def maestro_contrastive_pairs(
    context: dg.AssetExecutionContext,
    config: ContrastivePairsConfig,
    model_repo: ModelRepoResource,
) -> dg.MaterializeResult:
    paths = MaestroPaths(model_repo.layout())
    policy = PairPolicy(
        seed=config.seed,
        positives_per_anchor=config.positives_per_anchor,
        negatives_per_anchor=config.negatives_per_anchor,
        allow_cross_split=config.allow_cross_split,
    )
    manifest, metadata = outputs.build_pairs_stage(paths, policy)
    context.log.info(
        f"{manifest.stats.pairs} pairs ({manifest.stats.positives} positive) over "
        f"{manifest.segments_available} segments of {manifest.recordings_covered} recordings"
    )
    return dg.MaterializeResult(metadata=metadata)


maestro_assets = [
    maestro_recordings,
    maestro_audio_and_embeddings,
    maestro_piece_performer_map,
    maestro_contrastive_pairs,
]
