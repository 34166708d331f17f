"""A tiny code location for the harness tests: the smallest graph with the shapes the product has.

* `tiny_greeting` (group `tiny_unpartitioned`): an unpartitioned asset with a blocking check.
* `tiny_recording_lengths` (group `tiny_recordings`): a per-recording asset over a dynamic
  partitions definition with `BackfillPolicy.multi_run`, reading `context.partition_keys`, and an
  unpartitioned check that looks across every registered recording (as the tier checks do).

Loaded by a subprocess webserver/daemon with `-m piano_assets_tests.fixtures_ui.tiny_location`.
"""

import dagster as dg

TINY_RECORDINGS = dg.DynamicPartitionsDefinition(name="tiny_recordings")
RUN_SIZE = 10  # partitions per run in a backfill


@dg.asset(group_name="tiny_unpartitioned", description="An unpartitioned greeting.")
def tiny_greeting() -> dg.MaterializeResult:
    text = "hello from the tiny code location"
    return dg.MaterializeResult(metadata={"text": text, "characters": len(text)})


@dg.asset_check(asset=tiny_greeting, blocking=True, description="The greeting was recorded.")
def tiny_greeting_recorded(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(tiny_greeting.key)
    materialization = event.asset_materialization if event else None
    characters = materialization.metadata.get("characters") if materialization else None
    count = int(characters.value) if characters is not None else 0  # type: ignore[arg-type]
    return dg.AssetCheckResult(passed=count > 0, metadata={"characters": count})


@dg.asset(
    group_name="tiny_recordings",
    partitions_def=TINY_RECORDINGS,
    backfill_policy=dg.BackfillPolicy.multi_run(RUN_SIZE),
    description="Length of each recording key: a trivial per-partition workload.",
)
def tiny_recording_lengths(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    keys = list(context.partition_keys)
    context.log.info(f"{len(keys)} recordings in this run: {keys}")
    return dg.MaterializeResult(metadata={"recordings_in_run": len(keys)})


@dg.asset_check(
    asset=tiny_recording_lengths,
    description="Every registered recording has been materialized.",
)
def tiny_recordings_all_materialized(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    instance = context.instance
    registered = set(instance.get_dynamic_partitions(TINY_RECORDINGS.name))
    materialized = instance.get_materialized_partitions(tiny_recording_lengths.key)
    missing = sorted(registered - materialized)
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "registered": len(registered),
            "materialized": len(registered & materialized),
            "missing": ", ".join(missing[:20]) or "none",
        },
    )


defs = dg.Definitions(
    assets=[tiny_greeting, tiny_recording_lengths],
    asset_checks=[tiny_greeting_recorded, tiny_recordings_all_materialized],
)
