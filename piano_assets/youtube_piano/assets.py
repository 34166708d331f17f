"""T4 assets (group "youtube_piano"): thin wiring over the Dagster-free modules of this package.

youtube_piano_channels → youtube_piano_catalog → [youtube_piano_audio → youtube_piano_segments →
youtube_piano_muq_embeddings → youtube_piano_augmented_muq_embeddings] (per recording, from the
tier factory: `defs.py`) → youtube_piano_pairs. T4 is not a completion gate.
"""

import dagster as dg

from piano_assets.engine.files import atomic_write_text
from piano_assets.lib.jsonl import write_jsonl
from piano_assets.lib.markdown import markdown_table
from piano_assets.lib.partitions import add_new_partitions, registered_partitions
from piano_assets.resources import ModelRepoResource, SourceUrlsResource, YtDlpResource
from piano_assets.youtube_piano.adapter import ADAPTER
from piano_assets.youtube_piano.augment import AugmentationConfig
from piano_assets.youtube_piano.catalog import (
    CatalogFilters,
    build_catalog,
    list_channels,
    read_catalog,
    write_catalog,
)
from piano_assets.youtube_piano.channels import (
    EffectiveChannels,
    channel_table,
    effective_channels,
    load_channel_list,
)
from piano_assets.youtube_piano.invariance import RANDOM_WEIGHTS_LABEL, invariance_markdown
from piano_assets.youtube_piano.outputs import write_outputs
from piano_assets.youtube_piano.paths import YoutubePianoPaths

NAMES = ADAPTER.names
GROUP = NAMES.group
AUGMENTED = f"{NAMES.tier}_augmented_muq_embeddings"


def _paths(model_repo: ModelRepoResource) -> YoutubePianoPaths:
    return YoutubePianoPaths(model_repo.layout())


@dg.asset(
    group_name=GROUP,
    kinds={"yaml"},
    description="T4: the channels to list. The curated, versioned list shipped in the package "
    "(or PIANO_ASSETS_YOUTUBE_PIANO_CHANNELS_FILE), with the model repo's "
    "youtube_piano_cache/channels.yaml add/remove applied; validated (no duplicates, only "
    "channel URLs, no unknown fields). Unverified handles and ids are marked.",
)
def youtube_piano_channels(
    model_repo: ModelRepoResource, source_urls: SourceUrlsResource
) -> dg.MaterializeResult:
    paths = _paths(model_repo)
    configured = source_urls.locations().youtube_piano_channels_file
    curated = load_channel_list(configured) if configured else None
    channels = effective_channels(paths.channel_overrides, curated)
    paths.channels.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(paths.channels, channels.model_dump_json(indent=2) + "\n")
    return dg.MaterializeResult(
        metadata={
            "channels": len(channels.channels),
            "version": channels.version,
            "added": dg.MetadataValue.json(channels.added),
            "removed": dg.MetadataValue.json(channels.removed),
            "unverified": dg.MetadataValue.json(channels.unverified()),
            "list": dg.MetadataValue.md(channel_table(channels.channels)),
            "source": str(configured) if configured else "curated list shipped in the package",
            "path": dg.MetadataValue.path(str(paths.channels)),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=["youtube_piano_channels"],
    kinds={"youtube"},
    description="T4: every channel listed flat with yt-dlp (paced), filtered: duration bounds, "
    "no live streams or shorts, no non-piano titles, one copy of a video seen on two channels; "
    "each kept video carries why it passed, each dropped one a ledger line. Registers one "
    "youtube_piano_recordings partition per kept video (in chunks); never removes one.",
)
def youtube_piano_catalog(
    context: dg.AssetExecutionContext,
    model_repo: ModelRepoResource,
    source_urls: SourceUrlsResource,
    ytdlp: YtDlpResource,
) -> dg.MaterializeResult:
    paths = _paths(model_repo)
    channels = EffectiveChannels.model_validate_json(paths.channels.read_text("utf-8"))
    locations = source_urls.locations()
    filters = CatalogFilters(
        min_duration_s=locations.youtube_piano_min_duration_s,
        max_duration_s=locations.youtube_piano_max_duration_s,
    )
    listings = list_channels(ytdlp.client(), channels.channels)
    previous = [video.recording_id for video in read_catalog(paths.catalog)]
    build = build_catalog(listings, filters, previous)
    write_catalog(paths.catalog, build.videos)
    write_jsonl(paths.dropped, build.ledger)
    new = add_new_partitions(
        context.instance, NAMES.partitions, build.keys, progress=context.log.info
    )
    for key, failure in build.channel_failures.items():
        context.log.warning(
            f"channel {key} could not be listed ({failure.kind.value}): {failure.message}"
        )
    return dg.MaterializeResult(
        metadata={
            "channels": len(channels.channels),
            "channels_failed": dg.MetadataValue.json(
                {key: f"{f.kind.value}: {f.message}" for key, f in build.channel_failures.items()}
            ),
            "kept_videos": len(build.videos),
            "newly_registered": len(new),
            "dropped": dg.MetadataValue.json(build.ledger_counts()),
            "ledger": dg.MetadataValue.md(build.ledger_markdown()),
            "kept": dg.MetadataValue.md(
                markdown_table(
                    ["recording", "channel", "title", "why kept"],
                    [
                        [v.recording_id, v.channel_key, v.title, "; ".join(v.passed)]
                        for v in build.videos[:50]
                    ],
                )
            ),
            "stale_kept": dg.MetadataValue.json(build.stale),
            "filters": dg.MetadataValue.json(filters.model_dump()),
            "catalog_path": dg.MetadataValue.path(str(paths.catalog)),
            "ledger_path": dg.MetadataValue.path(str(paths.dropped)),
        }
    )


def pairs_asset(config: AugmentationConfig) -> dg.AssetsDefinition:
    @dg.asset(
        name="youtube_piano_pairs",
        group_name=GROUP,
        deps=[NAMES.embeddings, AUGMENTED, "youtube_piano_catalog"],
        kinds={"parquet"},
        description="T4: youtube_piano_cache/metadata.jsonl (one line per clean segment: "
        "recording, channel, title, URL, times, provenance), pairs.parquet (clean and augmented "
        "segment ids with the exact parameters that regenerate each augmented one) and the "
        "invariance baseline per augmentation kind (cosine, MSE; table and plot). Labelled "
        "RANDOM-WEIGHT MuQ when the embeddings come from one.",
    )
    def youtube_piano_pairs(
        context: dg.AssetExecutionContext, model_repo: ModelRepoResource
    ) -> dg.MaterializeResult:
        paths = _paths(model_repo)
        registered = registered_partitions(context.instance, NAMES.partitions)
        written = write_outputs(paths, registered, config)
        label = "; ".join(sorted(written.embedder_labels)) or "no embeddings"
        assert written.summary is not None  # noqa: S101 - write_outputs always sets it
        return dg.MaterializeResult(
            metadata={
                "segments": len(written.metadata),
                "pairs": len(written.pairs),
                "recordings": len({row.recording_id for row in written.metadata}),
                "registered_recordings": len(registered),
                "without_clean_embeddings": dg.MetadataValue.json(written.without_clean),
                "without_augmented_embeddings": dg.MetadataValue.json(written.without_augmented),
                "augmented_versions_per_segment": config.versions_per_segment,
                "augmentation_config_sha256": config.sha256(),
                "embedder": (RANDOM_WEIGHTS_LABEL + ": " if written.random_weights else "") + label,
                "random_weights": written.random_weights,
                "invariance": dg.MetadataValue.md(
                    invariance_markdown(
                        written.summary, random_weights=written.random_weights, model_label=label
                    )
                ),
                "invariance_plot": dg.MetadataValue.path(str(paths.invariance_plot)),
                "metadata_path": dg.MetadataValue.path(str(paths.metadata)),
                "pairs_path": dg.MetadataValue.path(str(paths.pairs)),
                "invariance_path": dg.MetadataValue.path(str(paths.invariance)),
            }
        )

    return youtube_piano_pairs
