from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from piano_assets.resources import ModelRepoResource
from piano_assets.settings import (
    PianoAssetsSettings,
    SettingsError,
    settings_or_defaults,
    settings_problem,
    validate_root,
)


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
    assert settings.model_repo_root() == tmp_path.resolve()


def test_no_root_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIANO_ASSETS_ROOT", raising=False)
    with pytest.raises(SettingsError, match="set PIANO_ASSETS_ROOT") as err:
        PianoAssetsSettings().model_repo_root()
    assert "./dev ui" in str(err.value)


PROBE = """
from piano_assets.definitions import defs
defs.resolve_asset_graph()
print("loaded", len(list(defs.resolve_asset_graph().materializable_asset_keys)))
"""


def test_a_bad_setting_never_stops_the_code_location_from_loading() -> None:
    env = {**os.environ, "PIANO_ASSETS_SEGMENT_SECONDS": "abc"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1].startswith("loaded ")


def test_a_bad_setting_fails_each_run_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIANO_ASSETS_SEGMENT_SECONDS", "abc")
    settings_or_defaults.cache_clear()
    try:
        assert settings_problem() is not None

        @dg.asset
        def needs_the_repo(model_repo: ModelRepoResource) -> None:
            model_repo.layout()

        result = dg.materialize(
            [needs_the_repo],
            resources={"model_repo": ModelRepoResource(root=str(tmp_path))},
            raise_on_error=False,
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_failure)
        message = str(failure.event_specific_data)
        assert "PIANO_ASSETS_SEGMENT_SECONDS='abc'" in message
        assert "Fix the environment of the code location" in message
    finally:
        monkeypatch.delenv("PIANO_ASSETS_SEGMENT_SECONDS")
        settings_or_defaults.cache_clear()


def test_invalid_env_value_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    from piano_assets.settings import load_settings

    monkeypatch.setenv("PIANO_ASSETS_MUQ_MODE", "sometimes")
    with pytest.raises(SettingsError, match="PIANO_ASSETS_"):
        load_settings()


def test_model_repo_resource_validates_root(tmp_path: Path) -> None:
    assert ModelRepoResource(root=str(tmp_path)).layout().root == tmp_path.resolve()
    with pytest.raises(SettingsError):
        ModelRepoResource(root=str(tmp_path / "missing")).layout()
