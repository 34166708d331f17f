"""Planning functions of the reorganization (read-only, no Dagster)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch
from pydantic import TypeAdapter

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.ledger import LedgerError, append_records, read_records
from piano_assets.reorganize.plan import (
    ToolsPart,
    apply_rewrite,
    format_bytes,
    inspect_embeddings,
    map_tools_path,
    new_data_dir_literal,
    plan_default_data_dir_rewrite,
    plan_directories,
    plan_pipeline_code,
    plan_pipeline_data,
    scan,
    superseding_candidates,
    verify_arrivals,
)
from piano_assets.reorganize.records import JournalEvent, Step

LAYOUT = ModelRepoLayout(Path("/repo"))


class ArbitraryObject:
    """Not a tensor: torch.load(weights_only=True) must refuse to unpickle it."""


@pytest.mark.parametrize(
    ("path", "part", "destination"),
    [
        (
            "tools/masterclass-pipeline/src/main.rs",
            ToolsPart.CODE,
            "model/tools/masterclass-pipeline/src/main.rs",
        ),
        (
            "tools/masterclass-pipeline/.claude/settings.json",
            ToolsPart.CODE,
            "model/tools/masterclass-pipeline/.claude/settings.json",
        ),
        (
            "tools/masterclass-pipeline/Cargo.lock",
            ToolsPart.CODE,
            "model/tools/masterclass-pipeline/Cargo.lock",
        ),
        (
            "tools/masterclass-pipeline/data/audio/a.wav",
            ToolsPart.DATA,
            "model/data/masterclass_pipeline/audio/a.wav",
        ),
        (
            "tools/masterclass-pipeline/data/sources.yaml",
            ToolsPart.DATA,
            "model/data/masterclass_pipeline/sources.yaml",
        ),
        ("tools/masterclass-pipeline/target/debug/x", ToolsPart.BUILD_OUTPUT, None),
        ("tools/other-tool/run.sh", ToolsPart.UNMAPPED, None),
        ("tools/README.md", ToolsPart.UNMAPPED, None),
        ("tools/masterclass-pipeline/data", ToolsPart.UNMAPPED, None),
    ],
)
def test_the_mapping_sends_each_file_where_the_design_says(
    path: str, part: ToolsPart, destination: str | None
) -> None:
    mapped = map_tools_path(LAYOUT, path)
    assert (mapped.part, mapped.destination) == (part, destination)


def test_named_parts_of_the_mapping_are_labelled() -> None:
    assert map_tools_path(LAYOUT, "tools/masterclass-pipeline/src/a.rs").rule == "src"
    assert "moves with the code" in map_tools_path(LAYOUT, "tools/masterclass-pipeline/x").rule
    assert map_tools_path(LAYOUT, "tools/masterclass-pipeline/data/state/s").rule == "data/state"


def test_new_default_is_relative_to_the_crate_like_the_old_one() -> None:
    literal = new_data_dir_literal(LAYOUT)
    assert literal == '"../../data/masterclass_pipeline"'
    resolved = (LAYOUT.pipeline / literal.strip('"')).resolve()
    assert resolved == LAYOUT.pipeline_data.resolve()


def test_rewrite_replaces_the_one_literal_and_records_both_hashes() -> None:
    source = b'const A: &str = "x";\nconst DEFAULT_DATA_DIR: &str = "./data";\n'
    search = plan_default_data_dir_rewrite({"src/main.rs": source}, '"../d"')
    assert search.rewrite is not None and search.problem is None
    assert search.rewrite.line == 2
    assert search.rewritten_text == source.replace(b'"./data"', b'"../d"')
    assert search.rewrite.original_sha256 == hashlib.sha256(source).hexdigest()
    assert search.rewrite.rewritten_sha256 == hashlib.sha256(search.rewritten_text).hexdigest()


def test_rewrite_already_done_is_recognized() -> None:
    search = plan_default_data_dir_rewrite({"m.rs": b'const D: &str = "../d";'}, '"../d"')
    assert search.already_done and search.rewrite is None and search.problem is None


def test_rewrite_refuses_when_the_literal_is_missing_or_ambiguous() -> None:
    missing = plan_default_data_dir_rewrite({"m.rs": b"fn main() {}"}, '"../d"')
    assert missing.problem is not None and "by hand" in missing.problem
    twice = plan_default_data_dir_rewrite(
        {"a.rs": b'let a = "./data";', "b.rs": b'let b = "./data/";'}, '"../d"'
    )
    assert twice.problem is not None and "a.rs:1" in twice.problem and "b.rs:1" in twice.problem
    with pytest.raises(ValueError, match="found 2"):
        apply_rewrite(b'"./data" "./data"', '"./data"', '"x"')


def test_scan_hashes_files_keeps_symlinks_as_links_and_skips_excluded(tmp_path: Path) -> None:
    (tmp_path / "top" / "sub").mkdir(parents=True)
    (tmp_path / "top" / "empty").mkdir()
    (tmp_path / "top" / "sub" / "a.txt").write_bytes(b"abc")
    (tmp_path / "top" / "skip").mkdir()
    (tmp_path / "top" / "skip" / "b.txt").write_bytes(b"b")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "top" / "link")
    result = scan(tmp_path, tmp_path / "top", exclude=(tmp_path / "top" / "skip",))
    by_path = {entry.path: entry for entry in result.entries}
    assert set(by_path) == {"top/sub/a.txt", "top/link"}
    assert by_path["top/sub/a.txt"].sha256 == hashlib.sha256(b"abc").hexdigest()
    assert by_path["top/link"].kind == "symlink"
    assert "top/empty" in result.directories
    assert scan(tmp_path, tmp_path / "absent").entries == ()


def test_scan_trusts_a_known_entry_only_if_size_and_mtime_match(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"one")
    first = scan(tmp_path, tmp_path / "f").entries[0]
    known = {"f": first.model_copy(update={"sha256": "cached"})}
    assert scan(tmp_path, tmp_path / "f", known).entries[0].sha256 == "cached"
    (tmp_path / "f").write_bytes(b"three")
    assert scan(tmp_path, tmp_path / "f", known).entries[0].sha256 != "cached"


def test_plans_list_every_file_with_its_size(tmp_path: Path) -> None:
    from .reorganize_helpers import make_repo

    layout = make_repo(tmp_path, use_git=False)
    tools = scan(layout.root, layout.legacy_tools)
    code, search = plan_pipeline_code(layout, tools)
    data = plan_pipeline_data(layout, tools)
    assert search.rewrite is not None
    assert len(code.moves) + len(data.moves) == len(tools.entries)
    assert sum(m.size for m in (*code.moves, *data.moves)) == tools.bytes
    assert "model/data/masterclass_pipeline/state" in plan_directories(
        layout, tools, ToolsPart.DATA
    )
    assert not code.blockers and not data.blockers


def test_verify_arrivals_names_missing_and_different_destinations(tmp_path: Path) -> None:
    from .reorganize_helpers import make_repo

    layout = make_repo(tmp_path, use_git=False)
    tools = scan(layout.root, layout.legacy_pipeline_data)
    wav = layout.pipeline_data / "audio" / "mc-0001.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"not the same")
    check = verify_arrivals(layout, tools, ())
    assert len(check.deletions) == len(tools.entries)
    assert any("mc-0001.wav differs" in problem for problem in check.problems)
    assert any("videos.jsonl is missing" in problem for problem in check.problems)
    assert all(not d.verified_by for d in check.deletions)


def test_superseding_plans_are_later_and_of_the_same_kind() -> None:
    names = [
        "2026-01-20-a-design.md",
        "2026-02-15-model-improvement-design.md",
        "2026-02-27-expansion-design.md",
        "2026-02-27-expansion-implementation.md",
        "notes.md",
    ]
    assert superseding_candidates("2026-02-15-model-improvement-design.md", names) == [
        "2026-02-27-expansion-design.md"
    ]
    assert superseding_candidates("2026-02-27-expansion-implementation.md", names) == []
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        superseding_candidates("notes.md", names)


def test_embeddings_must_load_with_weights_only_and_hold_tensors(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    torch.save({"a": torch.zeros(2, 3)}, good)
    assert inspect_embeddings(good).ok
    assert "[2, 3]" in inspect_embeddings(good).summary
    empty = tmp_path / "empty.pt"
    torch.save({"a": 1}, empty)
    assert not inspect_embeddings(empty).ok
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a zip")
    assert "does not load with weights_only=True" in inspect_embeddings(corrupt).summary
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"a": ArbitraryObject()}, unsafe)
    assert not inspect_embeddings(unsafe).ok  # refused by weights_only, never unpickled
    assert "does not exist" in inspect_embeddings(tmp_path / "missing.pt").summary


def test_ledger_skips_a_line_torn_by_a_crash_and_appends_on_a_fresh_line(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "journal.jsonl"
    adapter = TypeAdapter(JournalEvent)
    append_records(ledger, [JournalEvent(step=Step.PIPELINE_CODE, event="started")])
    with open(ledger, "a", encoding="utf-8") as handle:
        handle.write('{"step": "masterclass_pipeline_co')  # kill -9 mid-write
    append_records(ledger, [JournalEvent(step=Step.PIPELINE_CODE, event="completed")])
    events = read_records(ledger, adapter)
    assert [event.event for event in events] == ["started", "completed"]
    ledger.write_text('{"step": "nope", "event": "started"}\n', encoding="utf-8")
    with pytest.raises(LedgerError, match="line 1"):
        read_records(ledger, adapter)


def test_format_bytes() -> None:
    assert format_bytes(0) == "0 B"
    assert format_bytes(1500) == "1.5 KB"
    assert format_bytes(3_200_000_000) == "3.2 GB"
