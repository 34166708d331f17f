"""The invariance baseline: how far augmentation moves a segment's MuQ embedding, per kind.

For every pair (clean segment, augmented version) the cosine similarity and the MSE between
the mean-pooled embeddings, and the frame-level MSE when both have the same frames; then a
summary per augmentation kind (a pair counts for every kind in its chain; `single_kind_pairs`
counts the pairs where that kind was alone) and a PNG plot. Embeddings from a random-weight
MuQ (provenance `random_weights: "true"`) are labelled as such in the table, the markdown and
the plot: they exercise the code, they say nothing about real invariance. Dagster-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import polars as pl
import torch

from piano_assets.engine.files import atomic_path
from piano_assets.engine.store import RecordingEmbeddings
from piano_assets.youtube_piano.augment import CHAIN_ORDER, augmented_segment_id
from piano_assets.youtube_piano.records import PairRow

__all__ = [
    "RANDOM_WEIGHTS_LABEL",
    "augmented_vectors",
    "embeddings_are_random",
    "invariance_markdown",
    "invariance_summary",
    "pair_distances",
    "plot_invariance",
]

RANDOM_WEIGHTS_LABEL = "RANDOM-WEIGHT MuQ - NOT real embeddings"
_DISTANCE_SCHEMA: dict[str, pl.DataType] = {
    "augmented_segment_id": pl.String(),
    "clean_segment_id": pl.String(),
    "recording_id": pl.String(),
    "version": pl.Int32(),
    "chain": pl.String(),
    "kinds": pl.List(pl.String()),
    "cosine": pl.Float64(),
    "mse": pl.Float64(),
    "frame_mse": pl.Float64(),
}


def embeddings_are_random(provenances: Iterable[Mapping[str, str]]) -> bool:
    """True when any embedding came from a random-weight MuQ."""
    return any(p.get("random_weights") == "true" for p in provenances)


def augmented_vectors(augmented: RecordingEmbeddings, version: int) -> dict[str, torch.Tensor]:
    """An augmented recording's embeddings keyed by augmented segment id.

    The engine names segments after the recording, so a file of version `version` holds the
    clean segment ids; the pair id is `<segment id>_augNN`.
    """
    return {
        augmented_segment_id(segment_id, version): tensor
        for segment_id, tensor in augmented.by_segment_id().items()
    }


def _pooled(tensor: torch.Tensor) -> torch.Tensor:
    values = tensor.detach().to(torch.float32)
    return values.mean(dim=0) if values.ndim == 2 else values.reshape(-1)


def pair_distances(
    pairs: Sequence[PairRow],
    clean: Mapping[str, torch.Tensor],
    augmented: Mapping[str, torch.Tensor],
) -> pl.DataFrame:
    """One row per pair with both embeddings present: cosine, MSE (pooled), frame MSE."""
    rows = []
    for pair in pairs:
        clean_tensor = clean.get(pair.clean_segment_id)
        aug_tensor = augmented.get(pair.augmented_segment_id)
        if clean_tensor is None or aug_tensor is None:
            continue
        a, b = _pooled(clean_tensor), _pooled(aug_tensor)
        if a.shape != b.shape:
            raise ValueError(
                f"pair {pair.augmented_segment_id}: embedding sizes differ ({a.shape} vs {b.shape})"
            )
        cosine = float(torch.nn.functional.cosine_similarity(a, b, dim=0, eps=1e-12))
        same_frames = clean_tensor.shape == aug_tensor.shape and clean_tensor.ndim == 2
        frame_mse = (
            float(torch.mean((clean_tensor.float() - aug_tensor.float()) ** 2))
            if same_frames
            else None
        )
        rows.append(
            {
                "augmented_segment_id": pair.augmented_segment_id,
                "clean_segment_id": pair.clean_segment_id,
                "recording_id": pair.recording_id,
                "version": pair.version,
                "chain": "+".join(pair.kinds),
                "kinds": list(pair.kinds),
                "cosine": cosine,
                "mse": float(torch.mean((a - b) ** 2)),
                "frame_mse": frame_mse,
            }
        )
    return pl.DataFrame(rows, schema=_DISTANCE_SCHEMA)


def invariance_summary(distances: pl.DataFrame) -> pl.DataFrame:
    """Per kind (and 'all'): pairs, single-kind pairs, cosine and MSE statistics."""
    groups = [("all", distances)]
    for kind in CHAIN_ORDER:
        groups.append((kind.value, distances.filter(pl.col("kinds").list.contains(kind.value))))
    rows = []
    for name, frame in groups:
        single = frame.filter(pl.col("kinds").list.len() == 1).height if name != "all" else None
        stats = {
            "kind": name,
            "pairs": frame.height,
            "single_kind_pairs": single,
            "cosine_mean": None,
            "cosine_std": None,
            "cosine_min": None,
            "mse_mean": None,
            "mse_std": None,
            "mse_max": None,
        }
        if frame.height:
            stats.update(
                cosine_mean=frame["cosine"].mean(),
                cosine_std=frame["cosine"].std(),
                cosine_min=frame["cosine"].min(),
                mse_mean=frame["mse"].mean(),
                mse_std=frame["mse"].std(),
                mse_max=frame["mse"].max(),
            )
        rows.append(stats)
    return pl.DataFrame(
        rows,
        schema={
            "kind": pl.String(),
            "pairs": pl.Int64(),
            "single_kind_pairs": pl.Int64(),
            "cosine_mean": pl.Float64(),
            "cosine_std": pl.Float64(),
            "cosine_min": pl.Float64(),
            "mse_mean": pl.Float64(),
            "mse_std": pl.Float64(),
            "mse_max": pl.Float64(),
        },
    )


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def invariance_markdown(summary: pl.DataFrame, *, random_weights: bool, model_label: str) -> str:
    """The summary as a markdown table for asset metadata, labelled by the model that made it."""
    header = f"**{RANDOM_WEIGHTS_LABEL}** ({model_label})" if random_weights else model_label
    lines = [
        header,
        "",
        "| " + " | ".join(summary.columns) + " |",
        "|" + "---|" * len(summary.columns),
    ]
    for row in summary.iter_rows():
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines)


def plot_invariance(
    distances: pl.DataFrame, path: Path, *, random_weights: bool, model_label: str
) -> Path:
    """Box plots of cosine similarity and MSE per kind, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [kind.value for kind in CHAIN_ORDER]
    cosine = [
        distances.filter(pl.col("kinds").list.contains(kind))["cosine"].to_list() for kind in kinds
    ]
    mse = [distances.filter(pl.col("kinds").list.contains(kind))["mse"].to_list() for kind in kinds]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5), dpi=100)
    for axis, values, title in (
        (axes[0], cosine, "cosine similarity (clean vs augmented)"),
        (axes[1], mse, "MSE of mean-pooled embeddings"),
    ):
        present = [(kind, v) for kind, v in zip(kinds, values, strict=True) if v]
        if present:
            axis.boxplot([v for _, v in present], tick_labels=[k for k, _ in present])
        else:
            axis.text(0.5, 0.5, "no pairs", ha="center", va="center", transform=axis.transAxes)
        axis.set_title(title)
        axis.set_xlabel("augmentation kind (pairs containing it)")
    heading = f"T4 invariance baseline, {distances.height} pairs - {model_label}"
    if random_weights:
        heading = f"{RANDOM_WEIGHTS_LABEL}\n{heading}"
        figure.patch.set_facecolor("#fff3cd")
    figure.suptitle(heading, color="#b00020" if random_weights else "black")
    figure.tight_layout()
    with atomic_path(Path(path)) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return Path(path)
