"""Errors of the reorganization; every message names the files involved and what to do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from piano_assets.reorganize.records import StepPlan


class ReorganizeError(RuntimeError):
    """Base of every reorganization error. `plan` is the plan the step refused to finish."""

    def __init__(self, message: str, plan: StepPlan | None = None) -> None:
        super().__init__(message)
        self.plan = plan


class DestinationConflictError(ReorganizeError):
    """A different file already sits where a file must go: nothing is overwritten."""

    def __init__(self, source: Path, destination: Path, source_sha: str, found_sha: str):
        self.source = source
        self.destination = destination
        super().__init__(
            f"refusing to overwrite {destination}: it differs from {source} "
            f"(sha256 {found_sha[:12]} there, {source_sha[:12]} expected). Move one of the two "
            "aside (or delete the one you do not want) and re-run"
        )


class CopyVerificationError(ReorganizeError):
    """The bytes written do not hash to what the inventory recorded."""


class TrashError(ReorganizeError):
    """A file could not be put in (or taken out of) the trash safely."""


class StepBlockedError(ReorganizeError):
    """A step's preconditions do not hold; it deleted nothing that depends on them."""
