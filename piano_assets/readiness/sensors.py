"""Sensors that keep the per-recording partitions in step with the catalogs (stopped by default).

Each tick does two cheap things:

1. **Register what a catalog file lists.** It re-reads the catalog its tier's catalog asset last
   wrote (no network, no audio) and adds the keys not yet registered, through
   `SensorResult(dynamic_partitions_requests=[...])`.
2. **Notice when the source grew.** It reads the source listing and, when it names recordings
   the catalog has never seen, requests a run of the catalog asset, which matches them and
   registers their partitions (step 1 alone cannot: a partition needs its catalog row).
   The request's `run_key` is derived from the unseen items, so one growth asks for one run.

* `chopin2021_new_recordings`: `.piano_assets/chopin2021/chopin2021/catalog.jsonl` (written by
  `chopin2021_video_catalog`) → partitions `chopin2021_recordings`; source: the official
  channel's flat listing (yt-dlp, one request per tick). Videos the catalog set aside (sessions,
  ambiguous titles) are in its ledger and count as seen.
* `maestro_new_recordings`: the recordings table of `maestro_recordings` → partitions
  `maestro_recordings`; source: the MAESTRO metadata file (local: `maestro_cache/` or the zip).

They never remove a partition (a recording that left a catalog keeps its data and history).
Both are STOPPED by default; turn them on in the UI (Automation → Sensors). Their interval is
`minimum_interval_seconds` (1 h for the channel listing, 5 min for the local MAESTRO file).
A catalog or source that cannot be read skips the tick with the reason; it never errors.
"""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from piano_assets.chopin2021.catalog import LedgerItem, read_catalog
from piano_assets.chopin2021.partitions import chopin2021_recordings
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import read_jsonl
from piano_assets.maestro.adapter import load_recordings, read_source_metadata
from piano_assets.maestro.partitions import maestro_recordings_partitions
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.readiness.criteria import chopin2021_catalog_keys
from piano_assets.resources import ModelRepoResource, SourceUrlsResource, YtDlpResource
from piano_assets.sources.errors import SourceError

_SHOWN = 5


def new_partition_keys(
    instance: dg.DagsterInstance, partitions_def: dg.DynamicPartitionsDefinition, keys: list[str]
) -> list[str]:
    registered = set(instance.get_dynamic_partitions(partitions_def.name or ""))
    return [key for key in dict.fromkeys(keys) if key not in registered]


def unseen(listed: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Items of a source listing the catalog has never seen, in listing order, once each."""
    known = set(seen)
    return [item for item in dict.fromkeys(listed) if item not in known]


def growth_run_key(asset: str, items: list[str]) -> str:
    """One run key per distinct growth: a tick that sees the same growth again asks for nothing."""
    digest = hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:16]
    return f"{asset}-grew-{digest}"


@dataclass(frozen=True)
class SourceGrowth:
    """What the source lists that the catalog has not seen (empty: nothing new)."""

    unseen: list[str]
    source: str


@dataclass(frozen=True)
class CatalogWatch:
    """How one tier's sensor reads its catalog and its source."""

    sensor_name: str
    partitions_def: dg.DynamicPartitionsDefinition
    catalog_asset: str
    catalog_path: Callable[[ModelRepoResource], Path]
    catalog_keys: Callable[[ModelRepoResource], list[str]]
    source_growth: Callable[[ModelRepoResource, SourceUrlsResource, YtDlpResource], SourceGrowth]
    interval_seconds: int


def _tick(
    watch: CatalogWatch,
    instance: dg.DagsterInstance,
    model_repo: ModelRepoResource,
    source_urls: SourceUrlsResource,
    ytdlp: YtDlpResource,
    log: Callable[[str], None],
) -> dg.SensorResult | dg.SkipReason:
    skipped: list[str] = []
    partition_requests: list[dg.AddDynamicPartitionsRequest] = []
    catalog = watch.catalog_path(model_repo)
    if not catalog.exists():
        skipped.append(f"no catalog yet at {catalog}")
    else:
        try:
            new = new_partition_keys(instance, watch.partitions_def, watch.catalog_keys(model_repo))
        except (ValueError, OSError) as err:  # pydantic/polars errors are ValueErrors
            skipped.append(f"catalog unreadable: {err}")
        else:
            if new:
                log(f"registering {len(new)} new {watch.partitions_def.name} partitions")
                partition_requests.append(watch.partitions_def.build_add_request(new))
            else:
                skipped.append("catalog unchanged: no new recordings")

    run_requests: list[dg.RunRequest] = []
    try:
        growth = watch.source_growth(model_repo, source_urls, ytdlp)
    except (SourceError, ValueError, OSError) as err:
        skipped.append(f"source not read: {err}")
    else:
        if growth.unseen:
            shown = ", ".join(growth.unseen[:_SHOWN])
            log(f"{growth.source} lists {len(growth.unseen)} unseen items: {shown}")
            run_requests.append(
                dg.RunRequest(
                    run_key=growth_run_key(watch.catalog_asset, growth.unseen),
                    asset_selection=[dg.AssetKey(watch.catalog_asset)],
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


def catalog_sensor(watch: CatalogWatch) -> dg.SensorDefinition:
    @dg.sensor(
        name=watch.sensor_name,
        minimum_interval_seconds=watch.interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Registers new {watch.partitions_def.name} partitions from the catalog, and "
            f"requests {watch.catalog_asset} when its source lists recordings it has not seen."
        ),
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        model_repo: ModelRepoResource,
        source_urls: SourceUrlsResource,
        ytdlp: YtDlpResource,
    ) -> dg.SensorResult | dg.SkipReason:
        return _tick(watch, context.instance, model_repo, source_urls, ytdlp, context.log.info)

    return _sensor


# -- T2: the official channel ------------------------------------------------------------------
def _chopin_catalog(model_repo: ModelRepoResource) -> Path:
    return Chopin2021Paths(model_repo.layout()).catalog


def _chopin_keys(model_repo: ModelRepoResource) -> list[str]:
    return chopin2021_catalog_keys(model_repo.layout())


def _chopin_growth(
    model_repo: ModelRepoResource, source_urls: SourceUrlsResource, ytdlp: YtDlpResource
) -> SourceGrowth:
    paths = Chopin2021Paths(model_repo.layout())
    seen = [spec.video_id for spec in read_catalog(paths.catalog)]
    if paths.video_ledger.exists():
        seen += [item.video_id for item in read_jsonl(paths.video_ledger, LedgerItem)]
    url = source_urls.chopin2021_channel_url
    listed = [entry.video_id for entry in ytdlp.client().list_flat(url)]
    return SourceGrowth(unseen(listed, seen), url)


# -- T3: the MAESTRO metadata ------------------------------------------------------------------
def _maestro_table(model_repo: ModelRepoResource) -> Path:
    return MaestroPaths(model_repo.layout()).recordings_table


def _maestro_keys(model_repo: ModelRepoResource) -> list[str]:
    return load_recordings(MaestroPaths(model_repo.layout()))["recording_id"].to_list()


def _maestro_growth(
    model_repo: ModelRepoResource, source_urls: SourceUrlsResource, _ytdlp: YtDlpResource
) -> SourceGrowth:
    paths = MaestroPaths(model_repo.layout())
    source = Path(source_urls.maestro_source) if source_urls.maestro_source else None
    frame, where = read_source_metadata(paths, source)
    seen = _maestro_keys(model_repo) if paths.recordings_table.is_file() else []
    return SourceGrowth(unseen(frame["recording_id"].to_list(), seen), where)


chopin2021_catalog_sensor = catalog_sensor(
    CatalogWatch(
        sensor_name="chopin2021_new_recordings",
        partitions_def=chopin2021_recordings,
        catalog_asset="chopin2021_video_catalog",
        catalog_path=_chopin_catalog,
        catalog_keys=_chopin_keys,
        source_growth=_chopin_growth,
        interval_seconds=3600,
    )
)
maestro_catalog_sensor = catalog_sensor(
    CatalogWatch(
        sensor_name="maestro_new_recordings",
        partitions_def=maestro_recordings_partitions,
        catalog_asset="maestro_recordings",
        catalog_path=_maestro_table,
        catalog_keys=_maestro_keys,
        source_growth=_maestro_growth,
        interval_seconds=300,
    )
)

readiness_sensors = [chopin2021_catalog_sensor, maestro_catalog_sensor]
