"""T2's answer to readiness (criterion 3): metadata scraped, MuQ embeddings extracted.
Dagster-free."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from piano_assets.chopin2021 import outputs, validation
from piano_assets.chopin2021.adapter import ADAPTER
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_steps import completeness
from piano_assets.readiness.gate import TierGate, TierVerdict


def _lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def judge(layout: ModelRepoLayout, registered: Sequence[str]) -> TierVerdict:
    paths = Chopin2021Paths(layout)
    problems: list[str] = []
    for required in (paths.results, paths.metadata):
        if not required.is_file():
            problems.append(f"{required.relative_to(layout.root).as_posix()} is missing")
    if not problems:
        schema = validation.metadata_schema_holds(paths)
        if not schema.passed:
            problems.append(schema.description)
    state = completeness(paths.recordings(), list(registered))
    if not state.passed:
        problems.append(state.describe())
    elif not problems:
        missing = outputs.recordings_without_metadata(paths, list(registered))
        if missing:
            problems.append(f"{len(missing)} recordings have no metadata lines: {missing[:10]}")
    counts = {
        "recordings": len(registered),
        "embedding_files": sum(state.embedders.values()),
        "metadata_lines": _lines(paths.metadata),
        "performers": _lines(paths.results),
    }
    return TierVerdict(problems=problems, counts=counts, embedders=state.embedders)


GATE = TierGate.of_tier(
    ADAPTER,
    "T2 metadata is scraped and its MuQ embeddings are extracted",
    judge,
    upstream=("chopin2021_results",),
    folders=lambda layout: [Chopin2021Paths(layout).root, Chopin2021Paths(layout).embeddings_dir],
)
