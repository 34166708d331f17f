"""What code produced a stored file: the package version and the platform's git commit.

Computed once per process. Outside a git checkout (an installed wheel, no git binary, a
checkout of some other repository around the package) the commit reads "unknown"; this never
raises. Dagster-free.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from piano_assets import __version__

UNKNOWN = "unknown"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
_GIT_TIMEOUT_S = 10
# Keys that describe the code, not the inputs or the numbers: a new commit must not make every
# finished recording look stale (that would re-embed a whole tier after each change).
INFORMATIONAL_KEYS = frozenset({"git_commit", "git_dirty"})


def _git(checkout: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(
            # No optional locks: never take the index lock under a concurrent git command.
            [git, "--no-optional-locks", "-C", str(checkout), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_state(package_dir: Path = PACKAGE_DIR) -> tuple[str, str]:
    """(commit, dirty) of the checkout holding `package_dir`; ("unknown", "unknown") if none.

    The checkout counts only when `package_dir` is its own top-level `piano_assets/` folder,
    so a wheel installed inside some other repository never reports that repository's commit.
    Dirty means tracked files differ from the commit (untracked files are ignored).
    """
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    if not top or (Path(top) / package_dir.name).resolve() != package_dir.resolve():
        return UNKNOWN, UNKNOWN
    commit = _git(package_dir, "rev-parse", "HEAD")
    if not commit:
        return UNKNOWN, UNKNOWN
    status = _git(package_dir, "status", "--porcelain", "--untracked-files=no")
    dirty = UNKNOWN if status is None else str(bool(status)).lower()
    return commit, dirty


@functools.cache
def code_provenance() -> dict[str, str]:
    """`code_version`, `git_commit` and `git_dirty` of this process's platform code."""
    commit, dirty = git_state()
    return {"code_version": __version__, "git_commit": commit, "git_dirty": dirty}


def same_inputs(stored: dict[str, str], expected: dict[str, str]) -> bool:
    """Whether a stored file was made from the same inputs, model and settings."""

    def determining(provenance: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in provenance.items() if k not in INFORMATIONAL_KEYS}

    return determining(stored) == determining(expected)
