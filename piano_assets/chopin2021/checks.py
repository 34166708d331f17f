"""T2 asset checks. Tier-level checks are unpartitioned and look across every registered
recording; per-recording validity is enforced when a partition materializes."""

from collections.abc import Callable

import dagster as dg

from piano_assets.chopin2021 import outputs, validation
from piano_assets.chopin2021.adapter import ADAPTER
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import ResultRecord
from piano_assets.lib.partitions import registered_partitions
from piano_assets.resources import ModelRepoResource


def _paths(model_repo: ModelRepoResource) -> Chopin2021Paths:
    return Chopin2021Paths(model_repo.layout())


def _result(
    verdict: validation.Verdict, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=severity,
        description=verdict.description,
        metadata={"details": dg.MetadataValue.json(verdict.metadata)} if verdict.metadata else {},
    )


def _files_check(
    name: str,
    asset: str,
    description: str,
    judge: Callable[[Chopin2021Paths], validation.Verdict],
    *,
    blocking: bool = True,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetChecksDefinition:
    """A check that judges the tier's files with one plain function of `validation`."""

    @dg.asset_check(asset=asset, name=name, blocking=blocking, description=description)
    def check(model_repo: ModelRepoResource) -> dg.AssetCheckResult:
        return _result(judge(_paths(model_repo)), severity)

    return check


def _over_results(
    judge: Callable[[list[ResultRecord]], validation.Verdict],
) -> Callable[[Chopin2021Paths], validation.Verdict]:
    """`judge` over the resolved results; unreadable results fail with the reader's message."""

    def over_results(paths: Chopin2021Paths) -> validation.Verdict:
        rows, error = validation.results_rows(paths)
        return validation.Verdict(False, error) if error else judge(rows)

    return over_results


# -- chopin2021_results ------------------------------------------------------------------------

prize_list_is_official = _files_check(
    "prize_list_is_official",
    "chopin2021_results",
    "Results rows hold their schema; the laureates are exactly the published 2021 "
    "prize list (2nd and 4th prizes shared) and the twelve finalists are the published ones.",
    _over_results(validation.prize_list_is_official),
)
ordinal_order_holds = _files_check(
    "ordinal_order_holds",
    "chopin2021_results",
    "The ordinal encoding holds: 1st > 2nd > … > 6th > finalist without prize > "
    "stage III > stage II > stage I > preliminary, and every row's placement and ordinal follow "
    "from its furthest round and prize.",
    _over_results(validation.ordinal_order_holds),
)
site_agrees_with_curated = _files_check(
    "site_agrees_with_curated",
    "chopin2021_results",
    "The official site could be read and agrees with the curated file "
    "(warning: the curated file stands in when the site is unreachable).",
    validation.site_agrees_with_curated,
    blocking=False,
    severity=dg.AssetCheckSeverity.WARN,
)


# -- chopin2021_video_catalog ------------------------------------------------------------------


@dg.asset_check(
    asset="chopin2021_video_catalog",
    blocking=True,
    description="Recording keys are safe file names, unique, and every one is a registered "
    "partition of chopin2021_recordings.",
)
def catalog_keys_are_registered(
    context: dg.AssetCheckExecutionContext, model_repo: ModelRepoResource
) -> dg.AssetCheckResult:
    registered = set(registered_partitions(context.instance, ADAPTER.names.partitions))
    return _result(validation.catalog_keys_are_safe_and_registered(_paths(model_repo), registered))


no_ambiguous_videos = _files_check(
    "no_ambiguous_videos",
    "chopin2021_video_catalog",
    "No listed video is ambiguous (several performers, no round, a round the "
    "performer never reached); such videos wait in the ledger for a human decision.",
    validation.no_ambiguous_videos,
    blocking=False,
    severity=dg.AssetCheckSeverity.WARN,
)


# -- chopin2021_metadata -----------------------------------------------------------------------


metadata_schema_holds = _files_check(
    "metadata_schema_holds",
    "chopin2021_metadata",
    "metadata.jsonl (one line per segment) and results.jsonl (one line per "
    "performer) validate against their pydantic schemas; segment ids are unique.",
    validation.metadata_schema_holds,
)


@dg.asset_check(
    asset="chopin2021_metadata",
    blocking=True,
    description="Every registered recording has its lines in metadata.jsonl (its audio, "
    "segments and embeddings are judged by every_recording_has_audio_segments_embeddings).",
)
def every_recording_in_metadata(
    context: dg.AssetCheckExecutionContext, model_repo: ModelRepoResource
) -> dg.AssetCheckResult:
    registered = registered_partitions(context.instance, ADAPTER.names.partitions)
    missing = outputs.recordings_without_metadata(_paths(model_repo), registered)
    return _result(
        validation.Verdict(
            bool(registered) and not missing,
            f"{len(registered) - len(missing)}/{len(registered)} registered recordings in "
            "metadata.jsonl"
            + (f"; missing: {', '.join(missing[:10])}" if missing else "")
            + ("" if registered else ": no recordings are registered"),
            {"missing": missing[:50]} if missing else {},
        )
    )


placements_agree_with_results = _files_check(
    "placements_agree_with_results",
    "chopin2021_metadata",
    "Each segment's placement, ordinal and prize agree with results.jsonl, and no "
    "recording comes from a round its performer never reached.",
    validation.placements_agree_with_results,
)


chopin2021_checks: list[dg.AssetChecksDefinition] = [
    prize_list_is_official,
    ordinal_order_holds,
    site_agrees_with_curated,
    catalog_keys_are_registered,
    no_ambiguous_videos,
    metadata_schema_holds,
    every_recording_in_metadata,
    placements_agree_with_results,
]
