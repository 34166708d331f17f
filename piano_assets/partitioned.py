"""Shared wiring for per-recording partitioned multi-assets (T2, T3, T4).

A run may carry many partitions (`BackfillPolicy.multi_run`). Each recording goes through the
stages the run selected (e.g. audio → segments → embeddings). A recording that fails at one
stage is skipped by the later ones; the others go on. At the end, every (asset, partition) that
succeeded gets its own materialization, failures are appended to a ledger, and the step fails
with a message naming each failed recording and its cause, so the UI shows exactly those
partitions as failed.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel

from piano_assets.engine.files import atomic_open

StageMetadata = Mapping[str, Any]


class RecordingFailure(BaseModel):
    """One line of a tier's failure ledger (`<root>/.piano_assets/failures/<tier>.jsonl`)."""

    tier: str
    recording_id: str
    stage: str
    error_type: str
    message: str
    run_id: str
    failed_at: str


class RecordingBatch:
    """Runs the selected stages over `context.partition_keys`, isolating failures per recording."""

    def __init__(self, context: dg.AssetExecutionContext, tier: str, ledger_dir: Path) -> None:
        self.context = context
        self.tier = tier
        self.ledger_path = ledger_dir / f"{tier}.jsonl"
        self.keys: list[str] = list(context.partition_keys)
        self.failures: dict[str, RecordingFailure] = {}
        self._materializations: list[dg.AssetMaterialization] = []

    # -- selection -------------------------------------------------------------------------
    def selected(self, asset_key: dg.AssetKey | str) -> bool:
        key = dg.AssetKey(asset_key) if isinstance(asset_key, str) else asset_key
        return key in self.context.selected_asset_keys

    @property
    def pending(self) -> list[str]:
        """Recordings that have not failed so far."""
        return [key for key in self.keys if key not in self.failures]

    # -- stages ----------------------------------------------------------------------------
    def run_stage(self, asset_key: dg.AssetKey | str, fn: Callable[[str], StageMetadata]) -> None:
        """Run `fn(recording_id)` for each pending recording, if `asset_key` is selected."""
        if not self.selected(asset_key):
            return
        stage = _stage_name(asset_key)
        todo = self.pending
        started = time.monotonic()
        for done, key in enumerate(todo, start=1):
            try:
                metadata = fn(key)
            except Exception as err:  # any failure belongs to this recording
                self._fail(key, stage, err)
            else:
                self._succeed(asset_key, key, metadata)
            self._progress(stage, done, len(todo), started)

    def run_batch_stage(
        self,
        asset_key: dg.AssetKey | str,
        fn: Callable[[list[str]], Mapping[str, StageMetadata | Exception]],
    ) -> None:
        """Run `fn(recording_ids)` once for all pending recordings (cross-recording batching)."""
        if not self.selected(asset_key):
            return
        stage = _stage_name(asset_key)
        todo = self.pending
        if not todo:
            return
        started = time.monotonic()
        try:
            outcomes = fn(todo)
        except Exception as err:  # a batch crash fails each recording
            outcomes = dict.fromkeys(todo, err)
        for key in todo:
            outcome = outcomes.get(key)
            if outcome is None:
                outcome = RuntimeError(f"{stage} returned no result for {key}")
            if isinstance(outcome, Exception):
                self._fail(key, stage, outcome)
            else:
                self._succeed(asset_key, key, outcome)
        self.context.log.info(
            f"[{self.tier}] {stage}: {len(todo) - len(self._failed_in(stage))}/{len(todo)} "
            f"recordings done in {time.monotonic() - started:.1f}s"
        )

    def finish(self) -> Iterator[dg.AssetMaterialization]:
        """Yield the successes, record the failures, then fail the step if any recording failed."""
        yield from self._materializations
        if not self.failures:
            return
        self._write_ledger()
        lines = [
            f"  {f.recording_id}: {f.stage} failed: {f.error_type}: {f.message}"
            for f in self.failures.values()
        ]
        ok = len(self.keys) - len(self.failures)
        raise dg.Failure(
            description=(
                f"[{self.tier}] {len(self.failures)} of {len(self.keys)} recordings failed "
                f"({ok} succeeded and are materialized):\n" + "\n".join(lines)
            ),
            metadata={
                "failed_recordings": dg.MetadataValue.json(
                    {f.recording_id: f"{f.stage}: {f.message}" for f in self.failures.values()}
                ),
                "failure_ledger": dg.MetadataValue.path(str(self.ledger_path)),
            },
            allow_retries=False,
        )

    # -- internals -------------------------------------------------------------------------
    def _succeed(self, asset_key: dg.AssetKey | str, key: str, metadata: StageMetadata) -> None:
        self._materializations.append(
            dg.AssetMaterialization(asset_key=asset_key, partition=key, metadata=dict(metadata))
        )

    def _fail(self, key: str, stage: str, err: Exception) -> None:
        message = str(err) or err.__class__.__name__
        self.context.log.error(f"[{self.tier}] {key}: {stage} failed: {message}")
        self.context.log.debug("".join(traceback.format_exception(err)))
        self.failures[key] = RecordingFailure(
            tier=self.tier,
            recording_id=key,
            stage=stage,
            error_type=err.__class__.__name__,
            message=message,
            run_id=self.context.run_id,
            failed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def _failed_in(self, stage: str) -> list[str]:
        return [f.recording_id for f in self.failures.values() if f.stage == stage]

    def _progress(self, stage: str, done: int, total: int, started: float) -> None:
        # Log every recording for small batches, every ~10 % for large ones.
        if total <= 20 or done == total or done % max(1, total // 10) == 0:
            elapsed = time.monotonic() - started
            self.context.log.info(
                f"[{self.tier}] {stage}: {done}/{total} recordings ({elapsed:.1f}s, "
                f"{len(self._failed_in(stage))} failed)"
            )

    def _write_ledger(self) -> None:
        previous = self.ledger_path.read_text(encoding="utf-8") if self.ledger_path.exists() else ""
        with atomic_open(self.ledger_path) as handle:
            handle.write(previous)
            for failure in self.failures.values():
                handle.write(failure.model_dump_json() + "\n")


def read_failure_ledger(ledger_dir: Path, tier: str) -> list[RecordingFailure]:
    path = ledger_dir / f"{tier}.jsonl"
    if not path.exists():
        return []
    return [
        RecordingFailure.model_validate_json(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _stage_name(asset_key: dg.AssetKey | str) -> str:
    return asset_key if isinstance(asset_key, str) else asset_key.to_user_string()


def registered_partitions(instance: dg.DagsterInstance, partitions_def_name: str) -> list[str]:
    return list(instance.get_dynamic_partitions(partitions_def_name))


# Dagster checks all keys of one call in a single SQL `IN (...)`; SQLite builds with the upstream
# default stop at 32,766 variables (dagster issue #16260), so register in chunks.
PARTITION_CHUNK_SIZE = 10_000


def add_new_partitions(
    instance: dg.DagsterInstance, partitions_def_name: str, keys: Iterable[str]
) -> list[str]:
    """Register the keys not yet registered (never removes any); return the new ones."""
    existing = set(instance.get_dynamic_partitions(partitions_def_name))
    new = [key for key in dict.fromkeys(keys) if key not in existing]
    for start in range(0, len(new), PARTITION_CHUNK_SIZE):
        instance.add_dynamic_partitions(
            partitions_def_name, new[start : start + PARTITION_CHUNK_SIZE]
        )
    return new
