"""T3's answer to readiness (criterion 4): embeddings extracted, piece→performer map built.
Dagster-free."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.recording_steps import completeness
from piano_assets.maestro.adapter import ADAPTER
from piano_assets.maestro.metadata import MaestroMetadataError
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.maestro.recordings import load_recordings
from piano_assets.maestro.records import PieceRow
from piano_assets.maestro.tables import validate_rows
from piano_assets.readiness.gate import TierGate, TierVerdict

_SHOWN = 10


def judge(layout: ModelRepoLayout, registered: Sequence[str]) -> TierVerdict:
    """Every recording of the metadata (registered or not) is embedded and in the piece map."""
    paths = MaestroPaths(layout)
    try:
        ids = load_recordings(paths)["recording_id"].to_list()
    except (MaestroMetadataError, OSError, pl.exceptions.PolarsError) as err:
        return TierVerdict(problems=[str(err)])
    problems: list[str] = []
    if not ids:
        problems.append(f"{paths.recordings_table}: no recordings")
    unregistered = sorted(set(ids) - set(registered))
    if unregistered:
        problems.append(
            f"{len(unregistered)} recordings are not registered partitions: {unregistered[:_SHOWN]}"
        )
    state = completeness(paths.recordings(), ids)
    if ids and not state.passed:
        problems.append(state.describe(_SHOWN))
    pieces = 0
    if not paths.piece_map_table.is_file():
        problems.append(f"{paths.piece_map_table.relative_to(layout.root).as_posix()} is missing")
    else:
        table = pl.read_parquet(paths.piece_map_table)
        try:
            validate_rows(table, PieceRow, str(paths.piece_map_table))
        except ValueError as err:
            problems.append(str(err))
        else:
            pieces = table["piece_id"].n_unique()
            unmapped = sorted(set(ids) - set(table["recording_id"].to_list()))
            if unmapped:
                problems.append(f"{len(unmapped)} recordings not in the piece map: {unmapped[:5]}")
    counts = {
        "recordings": len(ids),
        "embedded": len(ids) - sum("embeddings" in what for what in state.incomplete.values()),
        "pieces": pieces,
    }
    return TierVerdict(problems=problems, counts=counts, embedders=state.embedders)


GATE = TierGate.of_tier(
    ADAPTER, "T3 embeddings are extracted and the piece→performer map is built", judge
)
