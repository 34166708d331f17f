"""Plots of the MAESTRO piece map for asset metadata (PNG, written atomically). Dagster-free.

Matplotlib's object API with the Agg canvas: no pyplot state, no display, safe in a worker.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from piano_assets.engine.files import atomic_path

_TOP_WORKS = 30


def recordings_per_work_png(piece_map: pl.DataFrame, target: Path) -> Path:
    """Two panels: how many works have N recordings, and the works with the most recordings
    (bars split into performers, i.e. recitals, and their other files)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    works = (
        piece_map.filter(pl.col("work_id").is_not_null())
        .group_by("work_id")
        .agg(pl.len().alias("recordings"), pl.col("recital_id").n_unique().alias("performers"))
        .sort(["recordings", "work_id"], descending=[True, False])
    )
    histogram = works.group_by("recordings").len().sort("recordings")
    top = works.head(_TOP_WORKS).reverse()
    unresolved = int(piece_map.filter(pl.col("work_id").is_null()).height)

    figure = Figure(figsize=(13, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, width_ratios=[1, 1.35])
    left.bar(histogram["recordings"].to_list(), histogram["len"].to_list(), color="#4c72b0")
    left.set_xlabel("recordings per work")
    left.set_ylabel("works")
    left.set_title(f"{works.height} works, {piece_map.height} recordings ({unresolved} unresolved)")
    names = top["work_id"].to_list()
    performers = top["performers"].to_list()
    extra = [r - p for r, p in zip(top["recordings"], performers, strict=True)]
    right.barh(names, performers, color="#4c72b0", label="performers (recitals)")
    right.barh(names, extra, left=performers, color="#dd8452", label="more files of them")
    right.set_xlabel("recordings")
    right.set_title(f"the {len(names)} works with the most recordings")
    right.tick_params(axis="y", labelsize=8)
    right.legend(loc="lower right")
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png")
    return target
