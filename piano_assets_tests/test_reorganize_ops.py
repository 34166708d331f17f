"""Executing the reorganization: copies, conflicts, crashes, trash, idempotence (no Dagster)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize import ops, transfer
from piano_assets.reorganize.errors import (
    CopyVerificationError,
    DestinationConflictError,
    ReorganizeError,
    StepBlockedError,
)
from piano_assets.reorganize.lock import reorganize_lock
from piano_assets.reorganize.paths import ReorganizePaths
from piano_assets.reorganize.plan import entry_sha256
from piano_assets.reorganize.records import Step
from piano_assets.reorganize.transfer import copy_verified, is_transfer_temp
from piano_assets.reorganize.trash import Trash, purge_trash, restore_trash
from piano_assets.reorganize.verify import Location, account_for_inventory, layout_findings

from .reorganize_helpers import final_state, git, make_repo, tree, tree_with_times


class SimulatedCrash(BaseException):
    """Stands for kill -9: not an Exception, so nothing on the way catches it."""


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_transfer_temp(p)]


def _assert_nothing_lost(layout: ModelRepoLayout) -> None:
    accounting = account_for_inventory(layout)
    assert accounting.missing == []
    files, size = accounting.before
    totals = accounting.totals()
    assert files == sum(count for count, _ in totals.values())
    assert size == sum(total for _, total in totals.values())


@pytest.fixture
def reference_state(reorganized_reference: dict[str, object]) -> dict[str, object]:
    """The final state of an uninterrupted reorganization of the same sample."""
    return reorganized_reference


# -- copies -----------------------------------------------------------------------------------
def test_copy_is_verified_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    source, destination = tmp_path / "a.bin", tmp_path / "out" / "a.bin"
    source.write_bytes(b"payload")
    sha = _sha(b"payload")
    assert copy_verified(source, destination, kind="file", sha256=sha) is True
    assert destination.read_bytes() == b"payload"
    assert copy_verified(source, destination, kind="file", sha256=sha) is False
    destination.write_bytes(b"someone else's")
    with pytest.raises(DestinationConflictError) as caught:
        copy_verified(source, destination, kind="file", sha256=sha)
    assert str(source) in str(caught.value) and str(destination) in str(caught.value)
    assert destination.read_bytes() == b"someone else's"


def test_copy_refuses_bytes_that_do_not_match_the_inventory(tmp_path: Path) -> None:
    source, destination = tmp_path / "a.bin", tmp_path / "b.bin"
    source.write_bytes(b"changed after planning")
    with pytest.raises(CopyVerificationError, match="changed while it was copied"):
        copy_verified(source, destination, kind="file", sha256=_sha(b"planned"))
    assert not destination.exists()
    assert _temps(tmp_path) == []


def test_copy_clears_the_half_written_temp_of_a_killed_copy(tmp_path: Path) -> None:
    source, destination = tmp_path / "a.bin", tmp_path / "b.bin"
    source.write_bytes(b"x" * 1000)
    stale = tmp_path / ".tmp-b.bin.reorg-123-abcd"
    stale.write_bytes(b"x" * 10)
    copy_verified(source, destination, kind="file", sha256=_sha(b"x" * 1000))
    assert not stale.exists()
    assert destination.read_bytes() == b"x" * 1000


def test_symlinks_move_as_links(tmp_path: Path) -> None:
    layout = make_repo(tmp_path, use_git=False)
    os.symlink("mc-0001.wav", layout.legacy_pipeline_data / "audio" / "latest.wav")
    ops.run_all(layout)
    moved = layout.pipeline_data / "audio" / "latest.wav"
    assert moved.is_symlink() and os.readlink(moved) == "mc-0001.wav"
    _assert_nothing_lost(layout)


# -- the whole group --------------------------------------------------------------------------
def test_reorganization_reaches_the_design_layout_and_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    layout = make_repo(tmp_path)
    before = tree(layout.root)
    outcomes = {o.step: o for o in ops.run_all(layout)}
    assert outcomes[Step.PIPELINE_CODE].copied == 7
    assert outcomes[Step.PIPELINE_CODE].rewritten == 1
    assert outcomes[Step.PIPELINE_DATA].copied == 15
    assert outcomes[Step.LEGACY_TOOLS_REMOVED].trashed == 22
    assert not [f for f in layout_findings(layout) if not f.ok]
    main_rs = (layout.pipeline / "src" / "main.rs").read_text(encoding="utf-8")
    assert '"../../data/masterclass_pipeline"' in main_rs and '"./data"' not in main_rs
    for path, digest in before.items():
        if path.startswith("tools/masterclass-pipeline/data/"):
            moved = path.replace(
                "tools/masterclass-pipeline/data/", "model/data/masterclass_pipeline/"
            )
            assert tree(layout.root)[moved] == digest
    _assert_nothing_lost(layout)

    state = final_state(layout.root)
    again = {o.step: o for o in ops.run_all(layout)}
    assert all(o.copied == o.trashed == o.rewritten == 0 for o in again.values())
    assert final_state(layout.root) == state


def test_dry_run_lists_every_move_and_delete_and_touches_nothing(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    before = tree_with_times(layout.root)
    outcomes = {o.step: o for o in ops.run_all(layout, dry_run=True)}
    assert tree_with_times(layout.root) == before
    assert not layout.platform.exists()
    tools_files = [p for p in tree(layout.root) if p.startswith("tools/")]
    code, data = outcomes[Step.PIPELINE_CODE].plan, outcomes[Step.PIPELINE_DATA].plan
    assert len(code.moves) + len(data.moves) == len(tools_files)
    assert all(move.size > 0 for move in (*code.moves, *data.moves))
    assert len(outcomes[Step.LEGACY_TOOLS_REMOVED].plan.deletions) == len(tools_files)
    assert len(outcomes[Step.STALE_DATA_REMOVED].plan.deletions) == 7
    assert {d.path for d in outcomes[Step.SUPERSEDED_PLANS_REMOVED].plan.deletions} == {
        p.relative_to(layout.root).as_posix() for p in layout.superseded_plans
    }


def test_a_different_file_at_the_destination_fails_the_step_naming_both(
    tmp_path: Path,
) -> None:
    layout = make_repo(tmp_path)
    theirs = layout.pipeline_data / "videos.jsonl"
    theirs.parent.mkdir(parents=True)
    theirs.write_text('{"video_id": "theirs"}\n', encoding="utf-8")
    source = layout.legacy_pipeline_data / "videos.jsonl"
    with pytest.raises(ReorganizeError) as caught:
        ops.run_pipeline_data(layout)
    assert str(theirs) in str(caught.value) and str(source) in str(caught.value)
    assert theirs.read_text(encoding="utf-8") == '{"video_id": "theirs"}\n'
    assert (layout.pipeline_data / "audio" / "mc-0001.wav").is_file()  # the others moved

    ops.run_pipeline_code(layout)
    with pytest.raises(StepBlockedError, match=r"videos\.jsonl differs"):
        ops.run_legacy_tools_removal(layout)
    assert source.is_file(), "tools/ must stay while a file has not arrived"

    theirs.unlink()  # the user settles the conflict
    ops.run_pipeline_data(layout)
    ops.run_legacy_tools_removal(layout)
    assert not layout.legacy_tools.exists()
    _assert_nothing_lost(layout)


@pytest.mark.parametrize(
    "crash_point",
    ["copy_before_publish", "trash_between_manifest_and_move", "rewrite_before_write"],
)
def test_a_crash_between_copy_and_delete_is_finished_by_a_rerun(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference_state: dict[str, object],
    crash_point: str,
) -> None:
    layout = make_repo(tmp_path)
    calls = {"n": 0}

    def crash_once(original):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:  # the third call: some work done, some left
                raise SimulatedCrash(crash_point)
            return original(*args, **kwargs)

        return wrapper

    targets = {
        "copy_before_publish": (transfer, "publish_no_overwrite"),
        "trash_between_manifest_and_move": (Trash, "_place"),
        "rewrite_before_write": (ops, "replace_contents"),
    }
    owner, name = targets[crash_point]
    monkeypatch.setattr(owner, name, crash_once(getattr(owner, name)))
    if crash_point == "rewrite_before_write":
        calls["n"] = 2  # there is only one rewrite: crash on it
    with pytest.raises(SimulatedCrash):
        ops.run_all(layout)
    monkeypatch.undo()

    ops.run_all(layout)
    assert final_state(layout.root) == reference_state
    assert _temps(layout.root) == []
    _assert_nothing_lost(layout)


def test_interrupted_step_is_reported_as_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = make_repo(tmp_path)

    def crash(*_args: object, **_kwargs: object) -> None:
        raise SimulatedCrash

    monkeypatch.setattr(transfer, "publish_no_overwrite", crash)
    with pytest.raises(SimulatedCrash):
        ops.run_pipeline_data(layout)
    monkeypatch.undo()
    assert len(_temps(layout.root)) == 0  # an exception cleans its temp; kill -9 would not
    outcome = ops.run_pipeline_data(layout)
    assert outcome.resumed_interrupted_run
    assert not ops.run_pipeline_data(layout).resumed_interrupted_run


def _other_filesystem() -> Path | None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    return shm


def test_trash_on_another_filesystem_copies_verifies_then_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference_state: dict[str, object]
) -> None:
    shm = _other_filesystem()
    if shm is None or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem (/dev/shm) to copy across")
    layout = make_repo(tmp_path)
    elsewhere = Path(tempfile.mkdtemp(dir=shm, prefix="piano-assets-test-"))
    try:
        os.symlink(elsewhere, layout.platform)  # .piano_assets/ (the trash) on tmpfs

        real_unlink = Trash._unlink_if
        calls = {"n": 0}

        def crash_after_copy(self: Trash, path: Path, kind: str, sha256: str) -> None:
            calls["n"] += 1
            if calls["n"] == 5:
                assert path.exists(), "the source must still be there after the copy"
                raise SimulatedCrash
            real_unlink(self, path, kind, sha256)  # type: ignore[arg-type]

        monkeypatch.setattr(Trash, "_unlink_if", crash_after_copy)
        with pytest.raises(SimulatedCrash):
            ops.run_all(layout)
        monkeypatch.undo()
        ops.run_all(layout)
        _assert_nothing_lost(layout)
        state = final_state(layout.root)
        trash_files = tree(elsewhere)
        expected = {
            path.removeprefix(".piano_assets/"): digest
            for path, digest in reference_state["files"].items()  # type: ignore[union-attr]
            if path.startswith(".piano_assets/trash/")
        }
        assert {
            k: v
            for k, v in trash_files.items()
            if k.startswith("trash/") and not k.endswith("manifest.jsonl")
        } == expected
        assert state["manifest"] == reference_state["manifest"]
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


# -- the preconditions of each deletion -------------------------------------------------------
def test_pianoteq_renderings_stay_until_the_embeddings_load(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    good = layout.percepiano_embeddings.read_bytes()
    layout.percepiano_embeddings.write_bytes(good[: len(good) // 2])  # truncated download
    with pytest.raises(StepBlockedError, match="weights_only=True"):
        ops.run_stale_data_removal(layout)
    assert any(layout.stale_pianoteq.iterdir())
    assert ReorganizePaths(layout).competition_cache_cleared.exists()  # no precondition there
    assert not any(layout.competition_cache.iterdir())

    layout.percepiano_embeddings.unlink()
    with pytest.raises(StepBlockedError, match="does not exist"):
        ops.run_stale_data_removal(layout)

    layout.percepiano_embeddings.write_bytes(good)
    outcome = ops.run_stale_data_removal(layout)
    assert not outcome.resumed_interrupted_run, "a refusal is a failure, not an interruption"
    assert not layout.stale_pianoteq.exists()
    _assert_nothing_lost(layout)


def test_old_competition_cache_is_cleared_once_and_new_files_survive(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    old = {p.name for p in layout.competition_cache.rglob("*") if p.is_file()}
    ops.run_stale_data_removal(layout)
    assert layout.competition_cache.is_dir() and not any(layout.competition_cache.iterdir())
    trashed = {Path(r.original_path).name for r in Trash(layout).live_records()}
    assert old <= trashed
    new = layout.chopin2021 / "metadata.jsonl"  # what the competition assets write next
    new.parent.mkdir(parents=True)
    new.write_text('{"new": true}\n', encoding="utf-8")
    ops.run_stale_data_removal(layout)
    assert new.read_text(encoding="utf-8") == '{"new": true}\n'


def test_old_plans_go_only_when_a_newer_plan_is_committed(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    design_old, implementation_old = layout.superseded_plans
    newer_design = layout.plans_dir / "2026-02-27-model-data-expansion-design.md"
    newer_implementation = layout.plans_dir / "2026-02-27-model-data-expansion-implementation.md"
    newer_design.write_text("edited, not committed\n", encoding="utf-8")
    git(layout.root, "rm", "-q", "--cached", str(newer_implementation))
    with pytest.raises(StepBlockedError) as caught:
        ops.run_superseded_plans_removal(layout)
    message = str(caught.value)
    assert "modified since the last commit" in message
    assert design_old.is_file() and implementation_old.is_file()

    git(layout.root, "add", str(newer_design))
    git(layout.root, "commit", "-q", "-m", "design edited")
    with pytest.raises(StepBlockedError, match="not committed"):
        ops.run_superseded_plans_removal(layout)
    assert not design_old.exists(), "its newer design is committed now"
    assert implementation_old.is_file()

    git(layout.root, "add", str(newer_implementation))
    git(layout.root, "commit", "-q", "-m", "implementation plan")
    ops.run_superseded_plans_removal(layout)
    assert not implementation_old.exists()
    _assert_nothing_lost(layout)


def test_outside_git_a_present_newer_plan_is_enough(tmp_path: Path) -> None:
    layout = make_repo(tmp_path, use_git=False)
    ops.run_superseded_plans_removal(layout)
    assert not any(path.exists() for path in layout.superseded_plans)


def test_files_outside_the_mapping_block_the_removal_of_tools(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    stray = layout.legacy_tools / "other-tool" / "notes.txt"
    stray.parent.mkdir()
    stray.write_text("mine\n", encoding="utf-8")
    ops.run_pipeline_code(layout)
    ops.run_pipeline_data(layout)
    with pytest.raises(StepBlockedError, match=r"other-tool/notes\.txt is not covered"):
        ops.run_legacy_tools_removal(layout)
    assert stray.is_file() and (layout.legacy_pipeline / "Cargo.toml").is_file()


def test_build_output_goes_to_the_trash_without_a_destination(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    binary = layout.legacy_pipeline / "target" / "debug" / "masterclass-pipeline"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x7fELF build output")
    ops.run_all(layout)
    assert not (layout.pipeline / "target").exists()
    records = [
        r
        for r in Trash(layout).live_records()
        if r.original_path.endswith("debug/masterclass-pipeline")
    ]
    assert records and "build output" in records[0].reason
    _assert_nothing_lost(layout)


# -- trash: recover, purge, account -----------------------------------------------------------
def test_restore_puts_files_back_and_never_over_a_different_file(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    before = tree(layout.root)
    ops.run_all(layout)
    intruder = layout.root / "docs" / "plans" / "2026-02-15-model-improvement-design.md"
    intruder.write_text("a new file with the old name\n", encoding="utf-8")
    with pytest.raises(ReorganizeError, match="refusing to overwrite"):
        restore_trash(layout, steps=[Step.SUPERSEDED_PLANS_REMOVED])
    assert intruder.read_text(encoding="utf-8") == "a new file with the old name\n"
    intruder.unlink()
    restore_trash(layout, steps=[Step.SUPERSEDED_PLANS_REMOVED, Step.STALE_DATA_REMOVED])
    after = tree(layout.root)
    for path, digest in before.items():
        if path.startswith(("docs/", "model/data/percepiano_pianoteq_rendered/")):
            assert after[path] == digest, path
    accounting = account_for_inventory(layout, Step.STALE_DATA_REMOVED)
    assert {item.location for item in accounting.items} == {Location.IN_PLACE}


def test_purge_is_explicit_and_purged_files_are_accounted_not_lost(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    ops.run_all(layout)
    preview = purge_trash(layout, dry_run=True)
    assert preview.files > 0 and all((layout.root / p).exists() for p in preview.paths)
    purged = purge_trash(layout, steps=[Step.STALE_DATA_REMOVED])
    assert purged.files == 7
    assert not (layout.trash / Step.STALE_DATA_REMOVED.value).exists()
    accounting = account_for_inventory(layout, Step.STALE_DATA_REMOVED)
    assert {item.location for item in accounting.items} == {Location.PURGED}
    _assert_nothing_lost(layout)


def test_a_file_gone_from_everywhere_is_reported_missing(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    ops.run_all(layout)
    lost = "tools/masterclass-pipeline/data/audio/mc-0002.wav"
    (layout.pipeline_data / "audio" / "mc-0002.wav").unlink()
    (layout.trash / Step.LEGACY_TOOLS_REMOVED.value / lost).unlink()
    missing = account_for_inventory(layout).missing
    assert [item.record.path for item in missing] == [lost]


def test_the_original_pipeline_source_stays_recoverable_after_the_rewrite(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    original = (layout.legacy_pipeline / "src" / "main.rs").read_bytes()
    ops.run_pipeline_code(layout)
    backups = [r for r in Trash(layout).live_records() if r.original_path.endswith("src/main.rs")]
    assert len(backups) == 1
    assert (layout.root / backups[0].trash_path).read_bytes() == original
    assert entry_sha256(layout.pipeline / "src" / "main.rs", "file") != _sha(original)


def test_one_step_at_a_time(tmp_path: Path) -> None:
    layout = make_repo(tmp_path, use_git=False)
    paths = ReorganizePaths(layout)
    with (
        reorganize_lock(paths),
        pytest.raises(ReorganizeError, match="holds"),
        reorganize_lock(paths, timeout_s=0.3),
    ):
        pass


def test_embeddings_fixture_is_untouched(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    before = layout.percepiano_embeddings.read_bytes()
    ops.run_all(layout)
    assert layout.percepiano_embeddings.read_bytes() == before
    assert torch.load(layout.percepiano_embeddings, weights_only=True)
