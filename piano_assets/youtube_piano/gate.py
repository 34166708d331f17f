"""T4's answer to readiness: for information only (T4 is not a gate). Dagster-free."""

from __future__ import annotations

from collections.abc import Sequence

from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_batch import permanently_unavailable
from piano_assets.lib.recording_steps import completeness
from piano_assets.readiness.gate import TierGate, TierVerdict
from piano_assets.youtube_piano.adapter import ADAPTER
from piano_assets.youtube_piano.paths import YoutubePianoPaths


def judge(layout: ModelRepoLayout, registered: Sequence[str]) -> TierVerdict:
    paths = YoutubePianoPaths(layout)
    recordings = paths.recordings()
    gone = permanently_unavailable(recordings.ledger_dir, ADAPTER.names.tier)
    state = completeness(recordings, list(registered), gone)
    problems = [] if state.passed else [state.describe()]
    if state.passed and not paths.pairs.is_file():
        problems.append("pairs.parquet is missing: materialize youtube_piano_pairs")
    notes = [state.describe()] if state.unavailable else []
    counts = {
        "recordings": len(registered),
        "permanently_unavailable": len(state.unavailable),
        "embedding_files": sum(state.embedders.values()),
    }
    return TierVerdict(problems=problems, counts=counts, notes=notes, embedders=state.embedders)


GATE = TierGate.of_tier(
    ADAPTER,
    "T4 YouTube recitals: clean and augmented embeddings (information, not a gate)",
    judge,
    gating=False,
)
