"""RecordingBatch: one bad recording fails only its own partitions, in multi-partition runs too."""

from pathlib import Path

import dagster as dg

from piano_assets.lib.partitions import add_new_partitions
from piano_assets.lib.recording_batch import RecordingBatch, read_failure_ledger
from piano_assets.runner import RANGE_END, RANGE_START

recordings = dg.DynamicPartitionsDefinition(name="test_recordings")


def _tier(ledger_dir: Path, calls: list[tuple[str, tuple[str, ...]]]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec("t_audio", partitions_def=recordings, skippable=True),
            dg.AssetSpec(
                "t_embeddings", deps=["t_audio"], partitions_def=recordings, skippable=True
            ),
        ],
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.multi_run(10),
    )
    def tier(context: dg.AssetExecutionContext):
        batch = RecordingBatch(context, "test_tier", ledger_dir)

        def audio(key: str) -> dict[str, object]:
            calls.append(("audio", (key,)))
            if key.startswith("gone"):
                raise FileNotFoundError(f"video for {key} is private")
            return {"seconds": 1.0}

        def embed(keys: list[str]) -> dict[str, object]:
            calls.append(("embed", tuple(keys)))
            return {key: ValueError("corrupt") if key == "corrupt" else {"n": 2} for key in keys}

        if dg.AssetKey("t_audio") in context.selected_asset_keys:
            batch.run_stage("t_audio", audio)
        if dg.AssetKey("t_embeddings") in context.selected_asset_keys:
            batch.run_batch_stage("t_embeddings", embed)
        yield from batch.finish()

    return tier


@dg.asset(deps=["t_embeddings"])
def t_summary() -> None:
    return None


def _materialized(instance: dg.DagsterInstance, key: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(key)))


def test_failures_stay_with_their_recordings(tmp_path: Path) -> None:
    calls: list[tuple[str, tuple[str, ...]]] = []
    tier = _tier(tmp_path, calls)
    instance = dg.DagsterInstance.ephemeral()
    keys = ["a", "gone-1", "corrupt", "b"]
    assert add_new_partitions(instance, "test_recordings", keys) == keys
    assert add_new_partitions(instance, "test_recordings", ["a", "c"]) == ["c"]

    result = dg.materialize(
        [tier, t_summary],
        instance=instance,
        selection=["t_audio", "t_embeddings"],
        tags={RANGE_START: "a", RANGE_END: "b"},
        raise_on_error=False,
    )
    assert not result.success
    assert _materialized(instance, "t_audio") == {"a", "corrupt", "b"}
    assert _materialized(instance, "t_embeddings") == {"a", "b"}
    # The failed download is not embedded; the batch stage saw the others in one call.
    assert ("embed", ("a", "corrupt", "b")) in calls

    failure = next(e for e in result.all_events if e.is_step_failure)
    description = failure.step_failure_data.user_failure_data.description
    assert "gone-1: t_audio failed: FileNotFoundError: video for gone-1 is private" in description
    assert "corrupt: t_embeddings failed: ValueError: corrupt" in description
    assert "2 of 4 recordings failed" in description

    ledger = read_failure_ledger(tmp_path, "test_tier")
    assert {(f.recording_id, f.stage) for f in ledger} == {
        ("gone-1", "t_audio"),
        ("corrupt", "t_embeddings"),
    }


def test_clean_run_materializes_every_partition(tmp_path: Path) -> None:
    tier = _tier(tmp_path, [])
    instance = dg.DagsterInstance.ephemeral()
    add_new_partitions(instance, "test_recordings", ["a", "b", "c"])
    result = dg.materialize(
        [tier, t_summary], instance=instance, tags={RANGE_START: "a", RANGE_END: "c"}
    )
    assert result.success
    assert _materialized(instance, "t_embeddings") == {"a", "b", "c"}
    assert read_failure_ledger(tmp_path, "test_tier") == []


def test_subset_runs_only_selected_stage(tmp_path: Path) -> None:
    calls: list[tuple[str, tuple[str, ...]]] = []
    tier = _tier(tmp_path, calls)
    instance = dg.DagsterInstance.ephemeral()
    add_new_partitions(instance, "test_recordings", ["a"])
    result = dg.materialize([tier], instance=instance, partition_key="a", selection=["t_audio"])
    assert result.success
    assert calls == [("audio", ("a",))]
    assert _materialized(instance, "t_audio") == {"a"}
    assert _materialized(instance, "t_embeddings") == set()


def test_registration_is_chunked_and_never_repeats(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    messages: list[str] = []
    keys = [f"k{i:05d}" for i in range(2_500)]
    new = add_new_partitions(
        instance, "test_recordings", keys, chunk=1_000, progress=messages.append
    )
    assert new == keys
    assert len(messages) == 3 and messages[-1].startswith("registered 2500/2500")
    assert add_new_partitions(instance, "test_recordings", [*keys, "late"], chunk=1_000) == ["late"]
    assert list(instance.get_dynamic_partitions("test_recordings")) == [*keys, "late"]
