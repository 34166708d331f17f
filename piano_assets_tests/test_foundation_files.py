from __future__ import annotations

from pathlib import Path

import pytest

from piano_assets.engine.files import (
    UnsafeNameError,
    atomic_open,
    atomic_write_text,
    is_temporary,
    safe_child,
    sha256_file,
    validate_key,
)


def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out" / "data.txt"
    atomic_write_text(target, "first")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half-written")
        raise RuntimeError("crash midway")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["data.txt"]


def test_temporary_names_are_recognised(tmp_path: Path) -> None:
    with atomic_open(tmp_path / "x.json") as handle:
        (tmp_name,) = list(tmp_path.iterdir())
        assert is_temporary(tmp_name)
        handle.write("{}")
    assert not is_temporary(tmp_path / "x.json")


@pytest.mark.parametrize(
    "key", ["../etc", "a/b", "", "UPPER", "ünïcode", "a..b", ".hidden", "x" * 129, "a b"]
)
def test_unsafe_keys_are_rejected(key: str) -> None:
    with pytest.raises(UnsafeNameError):
        validate_key(key)


@pytest.mark.parametrize("key", ["s1-liu-bruce-01", "2004_msp_track01.wav", "a"])
def test_safe_keys_pass(key: str) -> None:
    assert validate_key(key) == key


def test_safe_child_refuses_escape(tmp_path: Path) -> None:
    assert safe_child(tmp_path, "ok.txt") == (tmp_path / "ok.txt").resolve()
    with pytest.raises(UnsafeNameError):
        safe_child(tmp_path, "../outside.txt")


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = bytes(range(256)) * 5000
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
