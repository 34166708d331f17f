"""Helpers of the reorganization tests: a committed pre-cleanup repo, and its state as data."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from piano_assets.layout import ModelRepoLayout
from piano_assets.sample.before_cleanup import build_model_repo_before_cleanup

GIT_ENV = {
    "GIT_AUTHOR_NAME": "piano-assets tests",
    "GIT_AUTHOR_EMAIL": "tests@piano-assets.invalid",
    "GIT_COMMITTER_NAME": "piano-assets tests",
    "GIT_COMMITTER_EMAIL": "tests@piano-assets.invalid",
    "GIT_AUTHOR_DATE": "2026-03-01T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-03-01T12:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}
# The sample's maestro_cache/ comes from another generator; a stand-in keeps the layout whole.
MAESTRO_STAND_IN = "model/data/maestro_cache/README.md"


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(root)}
    git_exe = shutil.which("git")
    assert git_exe is not None, "git is needed by these tests"
    result = subprocess.run(
        [git_exe, *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def commit_all(root: Path, message: str = "sample") -> None:
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-gpg-sign", "--allow-empty", "-m", message)


def make_repo(parent: Path, name: str = "repo", *, use_git: bool = True) -> ModelRepoLayout:
    """The pre-cleanup sample (without MAESTRO audio), committed like the real one."""
    root = parent / name
    root.mkdir(parents=True)
    build_model_repo_before_cleanup(root)
    stand_in = root / MAESTRO_STAND_IN
    stand_in.parent.mkdir(parents=True, exist_ok=True)
    stand_in.write_text("# maestro_cache (stand-in for the tests)\n", encoding="utf-8")
    if use_git:
        commit_all(root)
    return ModelRepoLayout(root.resolve())


def _digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + os.readlink(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path, *, skip: tuple[str, ...] = (".git",)) -> dict[str, str]:
    """Every file under `root` (relative POSIX path -> sha256), skipping top-level `skip`."""
    found: dict[str, str] = {}
    for current, folders, files in os.walk(root):
        here = Path(current)
        if here == root:
            folders[:] = [f for f in folders if f not in skip]
        for name in files:
            path = here / name
            found[path.relative_to(root).as_posix()] = _digest(path)
    return found


def tree_with_times(root: Path) -> dict[str, tuple[str, int]]:
    """Like `tree`, with each file's mtime (to prove a dry run wrote nothing), plus folders."""
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if key.startswith(".git/"):
            continue
        found[key] = (
            _digest(path) if path.is_file() else "dir",
            path.lstat().st_mtime_ns,
        )
    return found


def final_state(root: Path) -> dict[str, object]:
    """What a finished reorganization leaves, without timestamps: the files (trash included,
    journals and ledgers excluded) and the trash manifest's entries."""
    files = {
        path: digest
        for path, digest in tree(root).items()
        if not path.startswith(".piano_assets/reorganize/")
        and path != ".piano_assets/trash/manifest.jsonl"
    }
    manifest = root / ".piano_assets" / "trash" / "manifest.jsonl"
    entries = set()
    if manifest.exists():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by kill -9
            record.pop("at", None)
            entries.add(json.dumps(record, sort_keys=True))
    return {"files": files, "manifest": sorted(entries)}
