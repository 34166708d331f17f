"""`recording_tier(adapter)`: the Dagster wiring every per-recording tier shares, built once.

For a tier named N (see `TierNames`) it builds:

* the dynamic partitions `N_recordings`, one per recording, registered by the tier's catalog
  asset (in chunks) or by the sensor;
* one graph-backed multi-asset with two steps, so each can run where it belongs:
    - `N_recording_audio` (CPU, network): `N_audio` (fetch → 24 kHz mono WAV, checked) and
      `N_segments` (the segment table the embeddings follow);
    - `N_recording_embeddings` (GPU when there is one; pool `muq`): `N_muq_embeddings` (the
      shared engine, batched across recordings) and any extra stage the tier adds.
  Both read `context.partition_keys` and carry `BackfillPolicy.multi_run(N)`: a backfill of
  thousands launches thousands / N runs. A recording that fails fails only its own partitions,
  with a message naming it, and the failure goes to `<root>/.piano_assets/failures/N.jsonl`;
  the audio step hands its failures to the embeddings step of the same run, which reports them
  all, so the others are still embedded;
* the completeness check `every_recording_has_audio_segments_embeddings` on the tier's summary
  asset (blocking): every registered recording has audio, segments and embeddings;
* the catalog sensor `N_new_recordings` (stopped by default).

Every step logs the same metadata keys in every tier.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from piano_assets.deploy import routing
from piano_assets.lib.catalog_sensor import catalog_sensor, tier_environment
from piano_assets.lib.partitions import registered_partitions
from piano_assets.lib.recording_batch import RecordingBatch, permanently_unavailable
from piano_assets.lib.recording_steps import (
    DurationTolerance,
    RecordingStepError,
    completeness,
    embed_recording_batch,
    plan_recording_segments,
    prepare_audio,
)
from piano_assets.lib.tier import (
    FetchedAudio,
    RecordingPaths,
    RecordingSource,
    TierAdapter,
    TierEnvironment,
    TierNames,
)
from piano_assets.resources import (
    ModelRepoResource,
    MuqEmbedderResource,
    SourceUrlsResource,
    YtDlpResource,
)
from piano_assets.settings import settings_or_defaults

_SHOWN = 50


@dataclass(frozen=True)
class EmbeddingStageInputs:
    """What an extra embedding stage gets: the recordings still pending and the shared tools."""

    recording_ids: list[str]
    paths: RecordingPaths
    model_repo: ModelRepoResource
    muq: MuqEmbedderResource
    log: Callable[[str], None]


@dataclass(frozen=True)
class ExtraEmbeddingStage:
    """A further per-recording asset computed in the embeddings step (e.g. T4's augmented
    embeddings), after the clean embeddings, on the same machine and model."""

    asset: str
    description: str
    run: Callable[[EmbeddingStageInputs], Mapping[str, Mapping[str, Any] | Exception]]
    kinds: frozenset[str] = frozenset({"pytorch"})


def _batch_fn(
    stage: ExtraEmbeddingStage, inputs: EmbeddingStageInputs
) -> Callable[[list[str]], Mapping[str, Mapping[str, Any] | Exception]]:
    """`stage.run(inputs)` as a batch function (the pending recordings are in `inputs`)."""
    return lambda _keys: stage.run(inputs)


@dataclass(frozen=True)
class RecordingTier:
    """The Dagster pieces of one tier, from `recording_tier`."""

    adapter: TierAdapter
    names: TierNames
    partitions_def: dg.DynamicPartitionsDefinition
    recordings: dg.AssetsDefinition
    completeness_check: dg.AssetChecksDefinition
    sensor: dg.SensorDefinition
    extra_stages: tuple[ExtraEmbeddingStage, ...] = field(default=())

    @property
    def asset_keys(self) -> list[dg.AssetKey]:
        return list(self.recordings.keys)

    def definitions(self) -> dg.Definitions:
        return dg.Definitions(
            assets=[self.recordings],
            asset_checks=[self.completeness_check],
            sensors=[self.sensor],
        )


def partitions_per_run() -> int:
    """PIANO_ASSETS_BACKFILL_PARTITIONS_PER_RUN (a bad value falls back to the default; the
    resources report it when a run starts)."""
    return settings_or_defaults()[0].backfill_partitions_per_run


class _LazySource:
    """Opens the adapter's source on the first fetch only: a run whose audio is all finished
    never opens a zip or starts a client."""

    def __init__(self, open_source: Callable[[], RecordingSource]) -> None:
        self._open = open_source
        self._source: RecordingSource | None = None

    def fetch(self, recording_id: str, scratch: Path) -> FetchedAudio:
        if self._source is None:
            self._source = self._open()
        return self._source.fetch(recording_id, scratch)


def _kind_tags(*kinds: str) -> dict[str, str]:
    return {f"dagster/kind/{kind}": "" for kind in kinds}


def recording_tier(
    adapter: TierAdapter,
    *,
    extra_stages: Sequence[ExtraEmbeddingStage] = (),
    automation_condition: dg.AutomationCondition | None = None,
    step_tags: Callable[[routing.StepKind], Mapping[str, str]] | None = None,
) -> RecordingTier:
    """Build a tier's partitions, per-recording steps, completeness check and sensor."""
    names = adapter.names
    partitions_def = dg.DynamicPartitionsDefinition(name=names.partitions)
    audio_key, segments_key = dg.AssetKey(names.audio), dg.AssetKey(names.segments)
    embeddings_key = dg.AssetKey(names.embeddings)
    extras = tuple(extra_stages)
    # Routing by executor (Celery queues, Kubernetes GPU nodes) and pools: piano_assets/deploy.
    tags_for = step_tags or routing.step_tags

    def environment(
        context: dg.OpExecutionContext,
        model_repo: ModelRepoResource,
        source_urls: SourceUrlsResource,
        ytdlp: YtDlpResource,
    ) -> TierEnvironment:
        return tier_environment(model_repo, source_urls, ytdlp, context.log.info)

    @dg.op(
        name=names.audio_step,
        ins={"catalog": dg.In(dg.Nothing)},
        out={
            "audio": dg.Out(dg.Nothing, is_required=False),
            "segments": dg.Out(dg.Nothing, is_required=False),
            "ready": dg.Out(dg.Nothing, is_required=False),
        },
        tags=dict(tags_for("audio")),
        pool=routing.step_pool("audio", source="youtube" if adapter.download_pool else "local"),
        description=f"{adapter.title}: per recording, fetch and convert the audio, then plan "
        "its segments.",
    )
    def audio_step(
        context: dg.OpExecutionContext,
        model_repo: ModelRepoResource,
        muq: MuqEmbedderResource,
        source_urls: SourceUrlsResource,
        ytdlp: YtDlpResource,
    ) -> Iterator[dg.AssetMaterialization | dg.Output]:
        selected = context.selected_output_names
        layout = model_repo.layout()
        paths = adapter.recording_paths(layout)
        batch = RecordingBatch(context, names.tier, paths.ledger_dir)
        policy = muq.segment_policy()
        context.log.info(f"[{names.tier}] {len(batch.keys)} recordings in this run")
        if "audio" in selected:
            source = _LazySource(
                lambda: adapter.open_source(environment(context, model_repo, source_urls, ytdlp))
            )
            tolerance = DurationTolerance(seconds=muq.duration_tolerance_s)
            batch.run_stage(
                audio_key,
                lambda key: prepare_audio(source, key, paths, policy, tolerance).metadata(paths),
            )
        if "segments" in selected:
            batch.run_stage(
                segments_key,
                lambda key: plan_recording_segments(key, paths, policy, names.audio).metadata(
                    paths
                ),
            )
        # When the embeddings step runs next in this run, it reports these failures with its
        # own; failing here would skip it for every recording of the run.
        yield from batch.finish(defer="ready" in selected)
        if "ready" in selected:
            yield dg.Output(None, "ready")

    extra_outs = {stage.asset: dg.Out(dg.Nothing, is_required=False) for stage in extras}

    @dg.op(
        name=names.embedding_step,
        ins={"ready": dg.In(dg.Nothing)},
        out={"embeddings": dg.Out(dg.Nothing, is_required=False), **extra_outs},
        tags=dict(tags_for("muq")),
        pool=routing.step_pool("muq"),
        description=f"{adapter.title}: per recording, MuQ embeddings of its segments (shared "
        "engine, batched across recordings).",
    )
    def embedding_step(
        context: dg.OpExecutionContext,
        model_repo: ModelRepoResource,
        muq: MuqEmbedderResource,
    ) -> Iterator[dg.AssetMaterialization]:
        selected = context.selected_output_names
        layout = model_repo.layout()
        paths = adapter.recording_paths(layout)
        batch = RecordingBatch(context, names.tier, paths.ledger_dir)
        inherited = batch.inherit_failures()
        if inherited:
            context.log.warning(
                f"[{names.tier}] {len(inherited)} recordings failed before this step: "
                + ", ".join(inherited[:10])
            )
        policy = muq.segment_policy()
        if "embeddings" in selected and batch.pending:
            embedder = muq.get_embedder()
            batch.run_batch_stage(
                embeddings_key,
                lambda keys: embed_recording_batch(
                    keys,
                    paths,
                    embedder,
                    policy,
                    adapter.embedding_provenance,
                    names.segments,
                    context.log.info,
                    config=muq.engine_config(),
                ),
            )
        for stage in extras:
            if stage.asset in selected and batch.pending:
                inputs = EmbeddingStageInputs(
                    list(batch.pending), paths, model_repo, muq, context.log.info
                )
                batch.run_batch_stage(dg.AssetKey(stage.asset), _batch_fn(stage, inputs))
        yield from batch.finish()

    graph_outs = {
        "audio": dg.GraphOut(),
        "segments": dg.GraphOut(),
        "embeddings": dg.GraphOut(),
        **{stage.asset: dg.GraphOut() for stage in extras},
    }

    @dg.graph(name=f"{names.tier}_per_recording", out=graph_outs)
    def per_recording(catalog):  # unannotated: Dagster would read annotations as input types
        audio, segments, ready = audio_step(catalog)
        embedded = embedding_step(ready)
        outputs = {"audio": audio, "segments": segments}
        if extras:
            outputs["embeddings"] = embedded.embeddings
            for stage in extras:
                outputs[stage.asset] = getattr(embedded, stage.asset)
        else:
            outputs["embeddings"] = embedded
        return outputs

    catalog_key = dg.AssetKey(adapter.catalog_asset)
    keys_by_output = {
        "audio": audio_key,
        "segments": segments_key,
        "embeddings": embeddings_key,
        **{stage.asset: dg.AssetKey(stage.asset) for stage in extras},
    }
    descriptions = {
        "audio": f"{adapter.title}: one recording's audio as 24 kHz mono WAV, checked (decodes, "
        "not silent, as long as its sources declare, long enough for a segment), with its "
        "record (source URL and hash, declared durations, converter). A bad recording fails "
        "only its own partition.",
        "segments": f"{adapter.title}: the segment table of one recording (30 s windows by "
        "default, the tail policy of the settings); the embeddings follow it exactly.",
        "embeddings": f"{adapter.title}: MuQ embeddings of one recording's segments (shared "
        "engine). Labelled RANDOM-WEIGHT MuQ when no pretrained weights are available.",
        **{stage.asset: stage.description for stage in extras},
    }
    kinds = {
        "audio": _kind_tags("ffmpeg", "wav"),
        "segments": _kind_tags("json"),
        "embeddings": _kind_tags("pytorch"),
        **{stage.asset: _kind_tags(*sorted(stage.kinds)) for stage in extras},
    }
    recordings = dg.AssetsDefinition.from_graph(
        per_recording,
        keys_by_input_name={"catalog": catalog_key},
        keys_by_output_name=keys_by_output,
        internal_asset_deps={
            "audio": {catalog_key},
            "segments": {audio_key},
            "embeddings": {segments_key},
            **{stage.asset: {embeddings_key} for stage in extras},
        },
        partitions_def=partitions_def,
        group_name=names.group,
        descriptions_by_output_name=descriptions,
        tags_by_output_name=kinds,
        automation_conditions_by_output_name=(
            dict.fromkeys(keys_by_output, automation_condition) if automation_condition else None
        ),
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.multi_run(partitions_per_run()),
    )

    @dg.asset_check(
        asset=adapter.summary_asset,
        name=names.completeness_check,
        blocking=True,
        description=f"{adapter.title}: every registered {names.partitions} partition has its "
        "audio, its segment table and its MuQ embeddings. The result names the embedder; a "
        "random-weight MuQ is labelled as such.",
    )
    def completeness_check(
        context: dg.AssetCheckExecutionContext, model_repo: ModelRepoResource
    ) -> dg.AssetCheckResult:
        paths = adapter.recording_paths(model_repo.layout())
        registered = registered_partitions(context.instance, names.partitions)
        result = completeness(
            paths, registered, permanently_unavailable(paths.ledger_dir, names.tier)
        )
        return dg.AssetCheckResult(
            passed=result.passed,
            description=result.describe(),
            metadata={
                "registered": len(registered),
                "incomplete": len(result.incomplete),
                "incomplete_recordings": dg.MetadataValue.json(
                    dict(list(result.incomplete.items())[:_SHOWN])
                ),
                "permanently_unavailable": dg.MetadataValue.json(result.unavailable),
                "embedder": dg.MetadataValue.json(sorted(result.embedders)),
                "random_weights": any("RANDOM-WEIGHT" in label for label in result.embedders),
            },
        )

    return RecordingTier(
        adapter=adapter,
        names=names,
        partitions_def=partitions_def,
        recordings=recordings,
        completeness_check=completeness_check,
        sensor=catalog_sensor(adapter, partitions_def),
        extra_stages=extras,
    )


__all__ = [
    "EmbeddingStageInputs",
    "ExtraEmbeddingStage",
    "RecordingStepError",
    "RecordingTier",
    "partitions_per_run",
    "recording_tier",
]
