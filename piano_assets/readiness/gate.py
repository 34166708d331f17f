"""The one small interface through which a tier tells readiness how complete its data is.

Readiness knows no tier internals: each tier folder builds a `TierGate` (`<tier>/gate.py`) and
`definitions.py` hands the gates to `readiness_defs`. A gating tier is one criterion of the
user's validation list (T2 is criterion 3, T3 criterion 4); a tier that is not a gate (T4) is
shown for information only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.tier import TierAdapter


@dataclass(frozen=True)
class TierVerdict:
    """What a tier's data is missing (nothing: complete), with counts and embedder labels."""

    problems: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    embedders: dict[str, int] = field(default_factory=dict)  # label -> embedding files


@dataclass(frozen=True)
class TierGate:
    title: str  # e.g. "T2 metadata is scraped and its MuQ embeddings are extracted"
    assets: tuple[str, ...]  # asset keys that produce what it judges (linked in the report)
    partitions: str  # the dynamic partitions whose registered keys it judges
    judge: Callable[[ModelRepoLayout, Sequence[str]], TierVerdict]
    folders: Callable[[ModelRepoLayout], list[Path]] = lambda _layout: []
    gating: bool = True  # False: shown for information, never blocks readiness

    @classmethod
    def of_tier(
        cls,
        adapter: TierAdapter,
        title: str,
        judge: Callable[[ModelRepoLayout, Sequence[str]], TierVerdict],
        *,
        upstream: tuple[str, ...] = (),
        folders: Callable[[ModelRepoLayout], list[Path]] | None = None,
        gating: bool = True,
    ) -> TierGate:
        """A per-recording tier's gate: its registered recordings, its assets from `upstream`
        through the embeddings to its summary asset, its embeddings folder (unless `folders`)."""
        return cls(
            title=title,
            assets=(*upstream, adapter.names.embeddings, adapter.summary_asset),
            partitions=adapter.names.partitions,
            judge=judge,
            folders=folders or (lambda layout: [adapter.recording_paths(layout).embeddings_dir]),
            gating=gating,
        )
