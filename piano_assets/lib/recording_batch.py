"""One step's work over the recordings of a run, failures kept with their recordings.

A run may carry many partitions (`BackfillPolicy.multi_run`). Each recording goes through the
stages the step selected (e.g. audio → segments). A recording that fails at one stage is skipped
by the later ones; the others go on. At the end, every (asset, partition) that succeeded gets its
own materialization and failures are appended to the tier's ledger. Then either the step fails
with a message naming each failed recording and its cause (so the UI shows exactly those
partitions as failed), or, when a later step of the same run takes over (`defer=True`), it
succeeds and that step inherits the failures (`inherit_failures`) and reports them all.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel

from piano_assets.engine.files import atomic_open
from piano_assets.lib.jsonl import read_jsonl

StageMetadata = Mapping[str, Any]
PERMANENT = "permanent"
PERMANENT_FAILURES = "permanently_unavailable"


class RecordingFailure(BaseModel):
    """One line of a tier's failure ledger (`<root>/.piano_assets/failures/<tier>.jsonl`)."""

    tier: str
    recording_id: str
    stage: str
    error_type: str
    message: str
    run_id: str
    failed_at: str
    # The source's verdict where it gives one: "permanent" (removed, private: never retried,
    # excluded from completeness) or "retry_later" (rate limit, network).
    classification: str | None = None

    @property
    def permanent(self) -> bool:
        return self.classification == PERMANENT


class RecordingBatch:
    """Runs the selected stages over `context.partition_keys`, isolating failures per recording."""

    def __init__(
        self, context: dg.OpExecutionContext | dg.AssetExecutionContext, tier: str, ledger_dir: Path
    ) -> None:
        self.context = context
        self.tier = tier
        self.ledger_path = ledger_dir / f"{tier}.jsonl"
        self.keys: list[str] = list(context.partition_keys)
        self.failures: dict[str, RecordingFailure] = {}
        self._recorded: set[str] = set()  # failures already in the ledger
        self._materializations: list[dg.AssetMaterialization] = []

    @property
    def pending(self) -> list[str]:
        """Recordings that have not failed so far."""
        return [key for key in self.keys if key not in self.failures]

    # -- stages ----------------------------------------------------------------------------
    def run_stage(self, asset_key: dg.AssetKey | str, fn: Callable[[str], StageMetadata]) -> None:
        """Run `fn(recording_id)` for each pending recording (the caller checked the selection)."""
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

    def inherit_failures(self) -> list[str]:
        """Take over the failures an earlier step of this run recorded in the ledger: those
        recordings are skipped here and reported (again) when this step finishes."""
        inherited = [
            failure
            for failure in read_failure_ledger(self.ledger_path.parent, self.tier)
            if failure.run_id == self.context.run_id and failure.recording_id in self.keys
        ]
        for failure in inherited:
            self.failures[failure.recording_id] = failure
            self._recorded.add(failure.recording_id)
        return [failure.recording_id for failure in inherited]

    def finish(self, *, defer: bool = False) -> Iterator[dg.AssetMaterialization]:
        """Yield the successes and record the failures; then fail the step if any recording
        failed, unless `defer`: a later step of this run inherits and reports them."""
        yield from self._materializations
        if not self.failures:
            return
        self._write_ledger()
        if defer:
            self.context.log.warning(
                f"[{self.tier}] {len(self.failures)} of {len(self.keys)} recordings failed here; "
                "the next step of this run reports them"
            )
            return
        lines = [
            f"  {f.recording_id}: {f.stage} failed"
            + (f" ({f.classification})" if f.classification else "")
            + f": {f.error_type}: {f.message}"
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
                # Recordings the source will never give (removed, private): not retried.
                PERMANENT_FAILURES: dg.MetadataValue.json(
                    sorted(f.recording_id for f in self.failures.values() if f.permanent)
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
            classification=getattr(err, "classification", None),
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
        new = [f for f in self.failures.values() if f.recording_id not in self._recorded]
        if not new:
            return
        previous = self.ledger_path.read_text(encoding="utf-8") if self.ledger_path.exists() else ""
        with atomic_open(self.ledger_path) as handle:
            handle.write(previous)
            for failure in new:
                handle.write(failure.model_dump_json() + "\n")
        self._recorded.update(f.recording_id for f in new)


def read_failure_ledger(ledger_dir: Path, tier: str) -> list[RecordingFailure]:
    return read_jsonl(ledger_dir / f"{tier}.jsonl", RecordingFailure, missing_ok=True)


def _stage_name(asset_key: dg.AssetKey | str) -> str:
    return asset_key if isinstance(asset_key, str) else asset_key.to_user_string()


def permanently_unavailable(ledger_dir: Path, tier: str) -> dict[str, str]:
    """Recordings whose latest failure the source called permanent -> its message."""
    latest: dict[str, RecordingFailure] = {}
    for failure in read_failure_ledger(ledger_dir, tier):
        latest[failure.recording_id] = failure
    return {rid: f.message for rid, f in latest.items() if f.permanent}
