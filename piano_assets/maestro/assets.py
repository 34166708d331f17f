"""The `maestro` group: MAESTRO v3 as an audio pretraining corpus (thin wiring).

maestro_recordings (registers one partition per recording)
  → maestro_audio → maestro_segments → maestro_muq_embeddings   (per recording, from the tier
    factory: `defs.py`)
  → maestro_piece_performer_map → maestro_contrastive_pairs
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from piano_assets.lib.partitions import add_new_partitions
from piano_assets.maestro import outputs, recordings
from piano_assets.maestro.adapter import ADAPTER
from piano_assets.maestro.pairs import PairPolicy
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.resources import ModelRepoResource, SourceUrlsResource

NAMES = ADAPTER.names
GROUP = NAMES.group
EMBEDDINGS = dg.AssetKey(NAMES.embeddings)


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
    frame, where = recordings.read_source_metadata(paths, source_path)
    added = add_new_partitions(
        context.instance, NAMES.partitions, frame["recording_id"], progress=context.log.info
    )
    manifest = recordings.write_recordings(paths, frame, where)
    context.log.info(
        f"{manifest.recordings} MAESTRO recordings ({manifest.hours} h) from {where}; "
        f"{len(added)} new partitions"
    )
    metadata = recordings.recordings_metadata(paths, frame, manifest, added)
    return dg.MaterializeResult(metadata=metadata)


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
    maestro_piece_performer_map,
    maestro_contrastive_pairs,
]
