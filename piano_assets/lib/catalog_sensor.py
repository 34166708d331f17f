"""A tier's catalog sensor: keeps its per-recording partitions in step with the catalog.

Each tick does two cheap things:

1. **Register what the catalog file lists.** It re-reads the catalog the tier's catalog asset
   last wrote (no network, no audio) and adds the keys not yet registered, through
   `SensorResult(dynamic_partitions_requests=[...])`.
2. **Notice when the source grew.** It reads the source listing and, when it names recordings
   the catalog has never seen, requests a run of the catalog asset, which matches them and
   registers their partitions (step 1 alone cannot: a partition needs its catalog row). The
   request's `run_key` comes from the unseen items, so one growth asks for one run.

It never removes a partition (a recording that left a catalog keeps its data and history), is
STOPPED by default (turn it on under Automation → Sensors), and skips with the reason when a
catalog or source cannot be read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import dagster as dg

from piano_assets.lib.tier import SourceGrowth, TierAdapter, TierEnvironment
from piano_assets.resources import ModelRepoResource, SourceUrlsResource, YtDlpResource
from piano_assets.sources.errors import SourceError

_SHOWN = 5


def unseen(listed: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Items of a source listing the catalog has never seen, in listing order, once each."""
    known = set(seen)
    return [item for item in dict.fromkeys(listed) if item not in known]


def growth_run_key(asset: str, items: list[str]) -> str:
    """One run key per distinct growth: a tick that sees the same growth again asks for nothing."""
    digest = hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:16]
    return f"{asset}-grew-{digest}"


def tier_environment(
    model_repo: ModelRepoResource,
    source_urls: SourceUrlsResource,
    ytdlp: YtDlpResource,
    log: Callable[[str], None],
) -> TierEnvironment:
    return TierEnvironment(
        layout=model_repo.layout(),
        sources=source_urls.locations(),
        ytdlp=ytdlp.client,
        log=log,
    )


def sensor_tick(
    adapter: TierAdapter,
    partitions_def: dg.DynamicPartitionsDefinition,
    instance: dg.DagsterInstance,
    env: TierEnvironment,
) -> dg.SensorResult | dg.SkipReason:
    skipped: list[str] = []
    partition_requests: list[dg.AddDynamicPartitionsRequest] = []
    catalog = adapter.catalog_path(env.layout)
    if not catalog.exists():
        skipped.append(f"no catalog yet at {catalog}")
    else:
        try:
            keys = adapter.catalog_keys(env.layout)
        except (ValueError, OSError) as err:  # pydantic/polars errors are ValueErrors
            skipped.append(f"catalog unreadable: {err}")
        else:
            registered = set(instance.get_dynamic_partitions(partitions_def.name or ""))
            new = [key for key in dict.fromkeys(keys) if key not in registered]
            if new:
                env.log(f"registering {len(new)} new {partitions_def.name} partitions")
                partition_requests.append(partitions_def.build_add_request(new))
            else:
                skipped.append("catalog unchanged: no new recordings")

    run_requests: list[dg.RunRequest] = []
    try:
        growth: SourceGrowth = adapter.source_growth(env)
    except (SourceError, ValueError, OSError) as err:
        skipped.append(f"source not read: {err}")
    else:
        if growth.unseen:
            shown = ", ".join(growth.unseen[:_SHOWN])
            env.log(f"{growth.source} lists {len(growth.unseen)} unseen items: {shown}")
            run_requests.append(
                dg.RunRequest(
                    run_key=growth_run_key(adapter.catalog_asset, growth.unseen),
                    asset_selection=[dg.AssetKey(adapter.catalog_asset)],
                    tags={"piano_assets/reason": f"{len(growth.unseen)} new in {growth.source}"},
                )
            )
        else:
            skipped.append(f"source unchanged: {growth.source}")

    if partition_requests or run_requests:
        return dg.SensorResult(
            run_requests=run_requests, dynamic_partitions_requests=partition_requests
        )
    return dg.SkipReason("; ".join(skipped))


def catalog_sensor(
    adapter: TierAdapter, partitions_def: dg.DynamicPartitionsDefinition
) -> dg.SensorDefinition:
    names = adapter.names

    @dg.sensor(
        name=names.sensor,
        minimum_interval_seconds=adapter.sensor_interval_s,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"{adapter.title}: registers new {names.partitions} partitions from the catalog, "
            f"and requests {adapter.catalog_asset} when its source lists recordings it has not "
            "seen."
        ),
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        model_repo: ModelRepoResource,
        source_urls: SourceUrlsResource,
        ytdlp: YtDlpResource,
    ) -> dg.SensorResult | dg.SkipReason:
        env = tier_environment(model_repo, source_urls, ytdlp, context.log.info)
        return sensor_tick(adapter, partitions_def, context.instance, env)

    return _sensor
