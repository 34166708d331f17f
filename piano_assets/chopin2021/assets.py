"""T2 assets (group "chopin2021"): thin wiring over the Dagster-free modules of this package.

chopin2021_results → chopin2021_video_catalog → [chopin2021_audio → chopin2021_segments →
chopin2021_muq_embeddings] (per recording, from the tier factory: `defs.py`) →
chopin2021_metadata.
"""

import json

import dagster as dg
from pydantic import Field

from piano_assets.chopin2021 import outputs
from piano_assets.chopin2021.adapter import ADAPTER
from piano_assets.chopin2021.catalog import (
    CatalogBuild,
    LedgerItem,
    build_catalog,
    read_catalog,
)
from piano_assets.chopin2021.derive import derive_with_official_counts, derived_results_path
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import ResultRecord, yield_table
from piano_assets.chopin2021.results import (
    CAVEAT_ACROSS_ROUNDS,
    PLACEMENT_ORDER,
    PLACEMENT_ORDINAL,
    CrossCheck,
    ResultsError,
    collect_site_results,
    cross_check,
    load_curated,
    resolve_results,
)
from piano_assets.engine.files import atomic_write_text
from piano_assets.lib.jsonl import write_jsonl
from piano_assets.lib.markdown import markdown_table
from piano_assets.lib.partitions import add_new_partitions, registered_partitions
from piano_assets.resources import (
    ModelRepoResource,
    SourceUrlsResource,
    WebResource,
    YtDlpResource,
)
from piano_assets.sources.errors import SourceError
from piano_assets.sources.urls import CrawlScope

NAMES = ADAPTER.names
GROUP = NAMES.group
EMBEDDINGS = dg.AssetKey(NAMES.embeddings)


def _paths(model_repo: ModelRepoResource) -> Chopin2021Paths:
    return Chopin2021Paths(model_repo.layout())


ORDINAL_ENCODING_MD = (
    markdown_table(
        ["placement", "ordinal"], [[p.value, PLACEMENT_ORDINAL[p]] for p in PLACEMENT_ORDER]
    )
    + f"\n\nHigher is better; shared prizes share a value. {CAVEAT_ACROSS_ROUNDS}"
)


# -- results -----------------------------------------------------------------------------------


def _citations(site: list[str], curated: list[str]) -> list[str]:
    return list(dict.fromkeys([*site, *curated]))


@dg.asset(
    group_name=GROUP,
    deps=[dg.AssetKey("stale_data_removed")],
    description=(
        "Results of the XVIII Chopin Competition (2021): the official site (chopin2020.pl, base "
        "URL from configuration; raw pages kept) cross-checked against the curated, cited file "
        "shipped with the package. One row per performer: name, country, furthest round, prize "
        "as announced, ordinal (1st=10 … finalist=4 … stage I=1, preliminary=0)."
    ),
)
def chopin2021_results(
    context: dg.AssetExecutionContext,
    model_repo: ModelRepoResource,
    web: WebResource,
    source_urls: SourceUrlsResource,
) -> dg.MaterializeResult:
    paths = _paths(model_repo)
    curated_file = load_curated()
    curated = curated_file.results()
    base_url = source_urls.chopin2021_base_url
    site = None
    site_problem: str | None = None
    try:
        fetcher = web.fetcher(paths.raw_pages, scope=CrawlScope.of(base_url))
        site = collect_site_results(base_url, fetcher.fetch)
    except (SourceError, ResultsError) as err:
        # Offline, or the site changed: the curated file stands in; the check says so.
        site_problem = f"{type(err).__name__}: {err}"
        context.log.warning(f"official site unusable, using the curated results only: {err}")
    resolved, origin = resolve_results(site.results if site else None, curated)
    check: CrossCheck | None = cross_check(site.results, curated) if site else None
    site_citations = site.citations() if site else {}
    rows = [
        ResultRecord.from_result(
            performer,
            source=origin[performer.name],
            citations=list(
                dict.fromkeys(
                    [
                        *site_citations.get(performer.key, []),
                        *curated_file.citations_for(performer.name),
                    ]
                )
            ),
        )
        for performer in sorted(resolved.performers, key=lambda p: (-p.ordinal, p.name))
    ]
    write_jsonl(paths.resolved_results, rows)
    refused = [line.model_dump() for line in site.refused] if site else []
    for line in refused:
        context.log.warning(f"refused link {line['url']} on {line['found_on']}: {line['reason']}")
    report = {
        "base_url": base_url,
        "site_problem": site_problem,
        "pages": site.pages if site else [],
        "refused_links": refused,
        "cross_check": check.model_dump() if check else None,
    }
    atomic_write_text(paths.cross_check, json.dumps(report, indent=2, ensure_ascii=False) + "\n")

    prize_rows = [[prize, name] for prize, name in resolved.prize_list()]
    disagreements = (
        markdown_table(
            ["performer", "field", "site", "curated"],
            [[d.performer, d.field, d.site, d.curated] for d in check.disagreements],
        )
        if check and check.disagreements
        else "none"
    )
    counts = resolved.counts_by_round()
    return dg.MaterializeResult(
        metadata={
            "performers": len(rows),
            "laureates": sum(1 for r in rows if r.laureate),
            "source": "official site + curated" if site else "curated only (site unusable)",
            "site_problem": site_problem or "none",
            "base_url": dg.MetadataValue.url(base_url),
            "pages_fetched": len(site.pages) if site else 0,
            "refused_links": dg.MetadataValue.md(
                markdown_table(
                    ["link", "found on", "reason"],
                    [[r["url"], r["found_on"], r["reason"]] for r in refused],
                )
                if refused
                else "none: every link stayed on the base URL's scheme and host"
            ),
            "raw_pages": dg.MetadataValue.path(str(paths.raw_pages)),
            "prize_list": dg.MetadataValue.md(markdown_table(["prize", "performer"], prize_rows)),
            "reached_per_round": dg.MetadataValue.json({r.value: n for r, n in counts.items()}),
            "disagreements_site_vs_curated": dg.MetadataValue.md(disagreements),
            "only_on_site": dg.MetadataValue.json(check.only_on_site if check else []),
            "only_curated": dg.MetadataValue.json(check.only_curated if check else []),
            "ordinal_encoding": dg.MetadataValue.md(ORDINAL_ENCODING_MD),
            "path": dg.MetadataValue.path(str(paths.resolved_results)),
        }
    )


# -- video catalog -----------------------------------------------------------------------------


class VideoCatalogConfig(dg.Config):
    playlist_urls: list[str] = Field(
        default_factory=list,
        description="Listings to read besides the channel (playlists of the official channel).",
    )


def _ledger_md(ledger: list[LedgerItem]) -> str:
    if not ledger:
        return "empty: every listed video became a recording"
    return markdown_table(
        ["status", "video", "title", "reason"],
        [[i.status.value, i.video_id, i.title, i.reason] for i in ledger],
    )


@dg.asset(
    group_name=GROUP,
    deps=["chopin2021_results"],
    description=(
        "The official channel's videos (yt-dlp flat listing) matched to performers and rounds. "
        "Registers one dynamic partition of `chopin2021_recordings` per matched recording (stable "
        "keys such as s1-liu-bruce-xiaoyu-01); never removes one. Unmatched, ambiguous and "
        "session videos are listed in the ledger."
    ),
)
def chopin2021_video_catalog(
    context: dg.AssetExecutionContext,
    config: VideoCatalogConfig,
    model_repo: ModelRepoResource,
    ytdlp: YtDlpResource,
    source_urls: SourceUrlsResource,
) -> dg.MaterializeResult:
    paths = _paths(model_repo)
    results = outputs.read_results(paths.resolved_results)
    client = ytdlp.client()
    listing = []
    for url in [source_urls.chopin2021_channel_url, *config.playlist_urls]:
        listing.extend(client.list_flat(url))
    # Stage I pianists the results lack, from their stage I videos (derive.py); published
    # in results.jsonl by chopin2021_metadata.
    derivation = derive_with_official_counts(listing, results)
    write_jsonl(derived_results_path(paths), derivation.records())
    results = derivation.results_with(results)
    build: CatalogBuild = build_catalog(listing, results, read_catalog(paths.catalog))
    write_jsonl(paths.catalog, build.all_recordings())
    write_jsonl(paths.video_ledger, build.ledger)
    new = add_new_partitions(
        context.instance,
        NAMES.partitions,
        [spec.recording_id for spec in build.all_recordings()],
        progress=context.log.info,
    )
    if build.stale:
        context.log.warning(
            f"{len(build.stale)} recordings are no longer listed; they stay registered: "
            + ", ".join(build.stale)
        )
    per_round: dict[str, int] = {}
    for spec in build.recordings:
        per_round[spec.round.value] = per_round.get(spec.round.value, 0) + 1
    statuses: dict[str, int] = {}
    for item in build.ledger:
        statuses[item.status.value] = statuses.get(item.status.value, 0) + 1
    return dg.MaterializeResult(
        metadata={
            "listed_videos": len({item.video_id for item in listing}),
            "recordings": len(build.recordings),
            "recordings_per_round": dg.MetadataValue.json(per_round),
            "newly_registered": dg.MetadataValue.json(new),
            "stale_kept": dg.MetadataValue.json(build.stale),
            "ledger_counts": dg.MetadataValue.json(statuses),
            "derived_stage_i_pianists": dg.MetadataValue.md(
                markdown_table(
                    ["performer", "videos"],
                    [
                        [p.name, ", ".join(derivation.citations[p.name])]
                        for p in derivation.performers
                    ],
                )
                if derivation.performers
                else "none: the results name every pianist of the stage I videos"
            ),
            "derivation_unresolved": dg.MetadataValue.json(
                [f"{u.title}: {u.reason}" for u in derivation.unresolved]
            ),
            "ledger": dg.MetadataValue.md(_ledger_md(build.ledger)),
            "catalog": dg.MetadataValue.md(
                markdown_table(
                    ["recording", "performer", "round", "placement", "title"],
                    [
                        [s.recording_id, s.performer, s.round.value, s.placement.value, s.title]
                        for s in build.recordings
                    ],
                )
            ),
            "catalog_path": dg.MetadataValue.path(str(paths.catalog)),
            "ledger_path": dg.MetadataValue.path(str(paths.video_ledger)),
            "channel_url": dg.MetadataValue.url(source_urls.chopin2021_channel_url),
        }
    )


# -- metadata ----------------------------------------------------------------------------------


@dg.asset(
    group_name=GROUP,
    deps=["chopin2021_results", "chopin2021_video_catalog", EMBEDDINGS],
    description=(
        "model/data/competition_cache/chopin2021/metadata.jsonl (one line per segment: "
        "recording, performer, piece, round, placement, ordinal, segment start/end, source URL, "
        "provenance) and results.jsonl (one line per performer), written together. Yield per "
        "round in the metadata."
    ),
)
def chopin2021_metadata(
    context: dg.AssetExecutionContext, model_repo: ModelRepoResource
) -> dg.MaterializeResult:
    paths = _paths(model_repo)
    registered = registered_partitions(context.instance, NAMES.partitions)
    written = outputs.write_metadata(paths, registered)
    if written.missing:
        context.log.warning(
            f"{len(written.missing)} registered recordings have no embeddings yet and are not in "
            "metadata.jsonl: " + ", ".join(written.missing)
        )
    table = yield_table(written.segments, written.results)
    return dg.MaterializeResult(
        metadata={
            "segments": len(written.segments),
            "recordings": len({s.recording_id for s in written.segments}),
            "performers_in_metadata": len({s.performer for s in written.segments}),
            "performers_in_results": len(written.results.performers),
            "registered_recordings": len(registered),
            "missing_recordings": dg.MetadataValue.json(written.missing),
            "embedder": written.embedder_label,
            "yield_per_round": dg.MetadataValue.md(
                markdown_table(table.columns, [list(row) for row in table.iter_rows()])
            ),
            "ordinal_encoding": dg.MetadataValue.md(ORDINAL_ENCODING_MD),
            "metadata_path": dg.MetadataValue.path(str(paths.metadata)),
            "results_path": dg.MetadataValue.path(str(paths.results)),
        }
    )


chopin2021_assets: list[dg.AssetsDefinition] = [
    chopin2021_results,
    chopin2021_video_catalog,
    chopin2021_metadata,
]
