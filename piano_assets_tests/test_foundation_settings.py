from __future__ import annotations

import os
from pathlib import Path

import pytest

from piano_assets.resources import ModelRepoResource
from piano_assets.settings import PianoAssetsSettings, SettingsError, validate_root


def test_missing_root_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PIANO_ASSETS_ROOT") as err:
        validate_root(tmp_path / "nope")
    assert "does not exist" in str(err.value)


def test_file_root_is_rejected(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(SettingsError, match="not a directory"):
        validate_root(file)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_root_is_rejected(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(SettingsError, match="not writable"):
            validate_root(tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_env_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIANO_ASSETS_ROOT", str(tmp_path))
    monkeypatch.setenv("PIANO_ASSETS_MUQ_BATCH_SIZE", "3")
    settings = PianoAssetsSettings()
    assert settings.root == tmp_path
    assert settings.muq_batch_size == 3
    assert not settings.uses_sample
    assert settings.model_repo_root() == tmp_path.resolve()


def test_invalid_env_value_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    from piano_assets.settings import load_settings

    monkeypatch.setenv("PIANO_ASSETS_MUQ_MODE", "sometimes")
    with pytest.raises(SettingsError, match="PIANO_ASSETS_"):
        load_settings()


def test_model_repo_resource_validates_root(tmp_path: Path) -> None:
    assert ModelRepoResource(root=str(tmp_path)).layout().root == tmp_path.resolve()
    with pytest.raises(SettingsError):
        ModelRepoResource(root=str(tmp_path / "missing")).layout()
