"""Undoing and redoing the reorganization; failures of the file system; the CLI's verdicts.

* apply → restore gives back the original tree, byte for byte (files, symlinks, modes and
  empty folders; the housekeeping folder `.piano_assets/` aside);
* apply → restore → apply converges to the layout of one apply;
* `verify` exits 1 when it prints FAIL, 0 when everything holds;
* an OSError (a read-only `tools/`, a file where a folder must go) fails its step with a
  clear message while the steps that do not depend on it still run;
* a missing `--root` is a clear error with exit status 2;
* the state's records name files relative to the root, so a moved repo restores, and records
  written with absolute paths still read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize import ops
from piano_assets.reorganize.__main__ import main as cli
from piano_assets.reorganize.errors import ReorganizeError
from piano_assets.reorganize.records import Step
from piano_assets.reorganize.trash import restore_trash
from piano_assets.reorganize.verify import account_for_inventory, layout_findings

from .reorganize_helpers import make_repo

WORKTREE = Path(__file__).resolve().parents[1]
EMPTY_FOLDERS = ("tools/masterclass-pipeline/.claude/empty", "model/data/competition_cache/e")


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root` but .git/ and .piano_assets/: files by sha256 and mode,
    symlinks by target, folders by mode."""
    import hashlib

    found: dict[str, str] = {}
    for current, folders, files in os.walk(root):
        here = Path(current)
        if here == root:
            folders[:] = [f for f in folders if f not in (".git", ".piano_assets")]
        for name in [*folders, *files]:
            path = here / name
            key = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[key] = "link:" + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                found[key] = f"dir {stat.S_IMODE(info.st_mode):o}"
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[key] = f"{digest} {stat.S_IMODE(info.st_mode):o}"
    return found


def repo_with_extras(parent: Path) -> ModelRepoLayout:
    layout = make_repo(parent)
    for folder in EMPTY_FOLDERS:
        (layout.root / folder).mkdir(parents=True)
    link = layout.legacy_pipeline / "data" / "latest.jsonl"
    link.symlink_to("videos.jsonl")
    (layout.legacy_pipeline / "src" / "status.rs").chmod(0o600)
    return layout


def _verdicts(layout: ModelRepoLayout) -> list[str]:
    return [f"{f.path}: {f.detail}" for f in layout_findings(layout) if not f.ok]


def _kept_only(verdicts: list[str]) -> list[str]:
    return [v for v in verdicts if "absent (never touched" not in v]


def test_apply_then_restore_gives_back_the_original_tree(tmp_path: Path) -> None:
    layout = repo_with_extras(tmp_path)
    before = snapshot(layout.root)
    ops.run_all(layout)
    assert snapshot(layout.root) != before
    restore_trash(layout)
    assert snapshot(layout.root) == before
    assert account_for_inventory(layout).missing == []


def test_apply_restore_apply_converges(tmp_path: Path) -> None:
    reference = repo_with_extras(tmp_path / "reference")
    ops.run_all(reference)
    once = snapshot(reference.root)
    assert _kept_only(_verdicts(reference)) == []

    layout = repo_with_extras(tmp_path / "twice")
    ops.run_all(layout)
    restore_trash(layout)
    ops.run_all(layout)
    assert _kept_only(_verdicts(layout)) == []
    assert snapshot(layout.root) == once
    assert account_for_inventory(layout).missing == []
    # And once more: restore and apply again, from the same trash.
    restore_trash(layout)
    ops.run_all(layout)
    assert snapshot(layout.root) == once


def test_restore_keeps_what_the_tiers_wrote_after_the_reorganization(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    ops.run_all(layout)
    new = layout.chopin2021 / "metadata.jsonl"
    new.parent.mkdir(parents=True)
    new.write_text('{"new": true}\n', encoding="utf-8")
    produced = layout.pipeline_data / "transcripts" / "mc-0009.jsonl"
    produced.write_text("written by the pipeline after the move\n", encoding="utf-8")
    restore_trash(layout)
    assert produced.read_text(encoding="utf-8").startswith("written by the pipeline")
    ops.run_all(layout)  # the old cache goes again; the new T2 file stays
    assert new.read_text(encoding="utf-8") == '{"new": true}\n'
    assert not any(
        f.path.startswith("model/data/competition_cache")
        for f in layout_findings(layout)
        if not f.ok
    )


def test_verify_exit_status_matches_its_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = make_repo(tmp_path)
    assert cli(["verify", "--root", str(layout.root)]) == 1
    assert "FAIL" in capsys.readouterr().out
    ops.run_all(layout)
    assert cli(["verify", "--root", str(layout.root)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    restore_trash(layout)
    assert cli(["verify", "--root", str(layout.root)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_an_os_error_fails_its_step_and_the_independent_steps_still_run(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    blocker = layout.root / "model" / "tools"
    blocker.write_text("a file where the pipeline's folder must go\n", encoding="utf-8")
    with pytest.raises(ReorganizeError) as raised:
        ops.run_all(layout)
    message = str(raised.value)
    assert f"{Step.PIPELINE_CODE}: " in message and "model/tools" in message
    assert "Traceback" not in message
    assert f"{Step.LEGACY_TOOLS_REMOVED}: skipped" in message
    # The data move and the two removals that do not depend on the code move ran.
    assert (layout.pipeline_data / "videos.jsonl").is_file()
    assert not layout.stale_pianoteq.exists()
    assert not any(path.exists() for path in layout.superseded_plans)
    assert layout.legacy_tools.is_dir()
    blocker.unlink()
    ops.run_all(layout)  # fixed: a re-run finishes
    assert not layout.legacy_tools.exists()


@contextlib.contextmanager
def read_only_folders(top: Path) -> Iterator[None]:
    """Make `top` and the folders under it read-only, so nothing can leave them. Root ignores
    permission bits, so as root the folders are made immutable (`chattr +i`) instead."""
    folders = [top, *(p for p in top.rglob("*") if p.is_dir() and not p.is_symlink())]
    chattr = shutil.which("chattr")
    if os.geteuid() == 0 and chattr is None:
        pytest.skip("running as root without chattr: a read-only folder cannot be made")

    def mark(flag: str) -> None:
        for folder in folders:
            if os.geteuid() == 0:
                subprocess.run([chattr, flag, str(folder)], check=True, capture_output=True)  # type: ignore[list-item]
            else:
                folder.chmod(0o555 if flag == "+i" else 0o755)

    try:
        mark("+i")
    except subprocess.CalledProcessError as err:
        mark("-i")
        pytest.skip(f"chattr +i is not supported here: {err.stderr.strip()}")
    try:
        yield
    finally:
        mark("-i")


def test_a_read_only_tools_folder_is_reported_and_the_other_steps_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = make_repo(tmp_path)
    with read_only_folders(layout.legacy_tools):
        status = cli(["apply", "--root", str(layout.root)])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    assert f"{Step.LEGACY_TOOLS_REMOVED}: " in err
    assert "permission denied" in err.lower()
    assert "tools/masterclass-pipeline" in err
    # The steps after it still ran; nothing was lost.
    assert not layout.stale_pianoteq.exists()
    assert not any(path.exists() for path in layout.superseded_plans)
    assert (layout.pipeline / "Cargo.toml").is_file()
    assert (layout.legacy_pipeline / "Cargo.toml").is_file()
    assert account_for_inventory(layout).missing == []
    assert cli(["apply", "--root", str(layout.root)]) == 0  # writable again: a re-run finishes
    assert not layout.legacy_tools.exists()


def test_plan_with_a_missing_root_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "piano_assets.reorganize", "plan", "--root", "/nonexistent"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(WORKTREE)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "/nonexistent does not exist" in result.stderr


def test_a_moved_repo_still_verifies_and_restores(tmp_path: Path) -> None:
    layout = repo_with_extras(tmp_path / "a")
    before = snapshot(layout.root)
    ops.run_all(layout)
    moved_root = tmp_path / "b" / "moved"
    moved_root.parent.mkdir()
    layout.root.rename(moved_root)
    moved = ModelRepoLayout(moved_root.resolve())
    assert cli(["verify", "--root", str(moved.root)]) == 0
    restore_trash(moved)
    assert snapshot(moved.root) == before


def _absolutize(state_file: Path, old_root: Path) -> None:
    """Rewrite a state file as older versions could have: every path field absolute."""
    lines = []
    for line in state_file.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for key in ("path", "original_path", "trash_path"):
            if record.get(key):
                record[key] = str(old_root / record[key])
        lines.append(json.dumps(record))
    state_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("moved", [False, True])
def test_records_with_absolute_paths_still_read(tmp_path: Path, moved: bool) -> None:
    layout = repo_with_extras(tmp_path / "a")
    before = snapshot(layout.root)
    ops.run_all(layout)
    state = layout.root / ".piano_assets"
    for state_file in (
        state / "trash" / "manifest.jsonl",
        state / "reorganize" / "inventory.jsonl",
        state / "reorganize" / "journal.jsonl",
    ):
        _absolutize(state_file, layout.root)
    if moved:
        target = tmp_path / "elsewhere" / "repo"
        target.parent.mkdir()
        layout.root.rename(target)
        layout = ModelRepoLayout(target.resolve())
    assert account_for_inventory(layout).missing == []
    assert _kept_only(_verdicts(layout)) == []
    ops.run_all(layout)  # a re-run reads them too
    restore_trash(layout)
    assert snapshot(layout.root) == before


def test_an_entry_that_is_no_file_is_that_steps_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = make_repo(tmp_path)
    fifo = layout.legacy_pipeline / "data" / "state" / "pipe"
    os.mkfifo(fifo)  # neither a file nor a folder: the plan cannot hash it
    status = cli(["plan", "--root", str(layout.root)])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert "tools/masterclass-pipeline/data/state/pipe" in err and "FIFO" in err
    assert cli(["apply", "--root", str(layout.root)]) == 1
    assert "Traceback" not in capsys.readouterr().err
