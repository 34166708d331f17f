"""Is a file committed? Read-only git queries (argument lists, never a shell). Dagster-free."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class GitUnavailableError(RuntimeError):
    """The model repo is a git repository but git cannot be run to ask it."""


@dataclass(frozen=True)
class CommitState:
    path: str
    exists: bool
    in_git_repo: bool
    in_head: bool = False  # the file is in the last commit
    clean: bool = False  # the working copy and the index equal the last commit

    @property
    def committed(self) -> bool:
        """In a git repo: tracked and unmodified. Outside one: simply present."""
        if not self.exists:
            return False
        return self.in_head and self.clean if self.in_git_repo else True

    def describe(self) -> str:
        if not self.exists:
            return "missing"
        if not self.in_git_repo:
            return "present (not a git repo)"
        if not self.in_head:
            return "not committed"
        return "committed" if self.clean else "modified since the last commit"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise GitUnavailableError(
            f"{root} is a git repository but the git command is not installed; install git"
        )
    return subprocess.run(
        [git, "--no-optional-locks", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def is_git_repo(root: Path) -> bool:
    if shutil.which("git") is None:
        if any((folder / ".git").exists() for folder in (root, *root.parents)):
            raise GitUnavailableError(
                f"{root} is inside a git repository but git is not installed; install git"
            )
        return False
    result = _git(root, "rev-parse", "--is-inside-work-tree")
    return result.returncode == 0 and result.stdout.strip() == "true"


def commit_state(root: Path, relative: str) -> CommitState:
    exists = (root / relative).is_file()
    if not is_git_repo(root):
        return CommitState(relative, exists, in_git_repo=False)
    in_head = _git(root, "cat-file", "-e", f"HEAD:./{relative}").returncode == 0
    status = _git(root, "status", "--porcelain=v1", "--untracked-files=all", "--", relative)
    if status.returncode != 0:
        raise GitUnavailableError(f"git status failed in {root}: {status.stderr.strip()}")
    return CommitState(relative, exists, True, in_head=in_head, clean=status.stdout.strip() == "")
