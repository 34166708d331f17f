"""Where the tests find the real MAESTRO v3 metadata: `../shared/data` beside the checkout.

In CI the clone has `../shared` beside it. A git worktree (`.git` is a file naming the main
repository's `.git/worktrees/<name>`) looks beside the main checkout too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _checkouts() -> list[Path]:
    found = [REPO]
    git = REPO / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        text = git.read_text("utf-8").strip()
        if text.startswith("gitdir:"):
            found.append(Path(text.split(":", 1)[1].strip()).resolve().parents[2])
    return found


def shared_data_file(name: str) -> Path:
    """`../shared/data/<name>` beside this checkout (or the main one); the first candidate if
    none exists, so a skip reason names where it was looked for."""
    candidates = [checkout.parent / "shared" / "data" / name for checkout in _checkouts()]
    return next((c for c in candidates if c.is_file()), candidates[0])


REAL_CSV = shared_data_file("maestro-v3.0.0.csv")
needs_real_csv = pytest.mark.skipif(
    not REAL_CSV.is_file(),
    reason=f"real MAESTRO v3 metadata not found at {REAL_CSV} (../shared/data beside the repo)",
)
