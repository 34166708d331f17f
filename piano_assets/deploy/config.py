"""Settings for the deployment helpers, read so that they never stop the code location loading."""

from __future__ import annotations

import logging

from piano_assets.settings import PianoAssetsSettings, SettingsError, load_settings

logger = logging.getLogger("piano_assets.deploy")


def deploy_settings() -> PianoAssetsSettings:
    """`PIANO_ASSETS_*` settings; invalid scale-out values have fallen back (see `problems`).

    If another setting is invalid (which stops the code location elsewhere, with its own clear
    error), the scale-out helpers use their defaults and say so.
    """
    try:
        return load_settings()
    except SettingsError as err:
        fallback = PianoAssetsSettings.model_construct()
        fallback.setting_problems = [f"{err}; scale-out settings use their defaults"]
        return fallback


def problems(settings: PianoAssetsSettings) -> list[str]:
    """What was wrong in the scale-out settings, one sentence each (empty: all fine)."""
    return list(settings.setting_problems)
