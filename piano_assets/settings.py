"""Validated settings: which model repo, which MuQ, which outside world. Dagster-free.

Every field can be set by an environment variable `PIANO_ASSETS_<FIELD>` (for example
`PIANO_ASSETS_ROOT=/path/to/model-repo`). With no root, the embedded sample model repo is
generated (idempotently) under `<platform>/.piano_assets/sample` and used, together with its
local "outside world" of files.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from piano_assets.scale_settings import ScaleOutSettings

PLATFORM_HOME = Path(__file__).resolve().parents[1]
MUQ_PRETRAINED_ID = "OpenMuQ/MuQ-large-msd-iter"


class SettingsError(ValueError):
    """A setting is wrong; the message says which variable to change and how."""


class MuqMode(StrEnum):
    AUTO = "auto"  # pretrained weights when found locally, else random (labelled)
    PRETRAINED = "pretrained"  # fail if the weights are not available locally
    RANDOM = "random"  # random weights, labelled as such everywhere


class MuqRandomSize(StrEnum):
    TINY = "tiny"  # hidden 64, 2 layers: CI and the sample
    FULL = "full"  # the real architecture (~330 M parameters)


class Pooling(StrEnum):
    NONE = "none"  # keep last_hidden_state [frames, dim]
    MEAN = "mean"
    MEAN_STD = "mean_std"


class PianoAssetsSettings(ScaleOutSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIANO_ASSETS_", extra="ignore")

    root: Path | None = Field(
        default=None,
        description="The model repo to reorganize and fill. Unset: the embedded sample.",
    )
    sample_dir: Path = Field(
        default=PLATFORM_HOME / ".piano_assets" / "sample",
        description="Where the embedded sample model repo is generated when no root is set.",
    )
    dry_run: bool = Field(
        default=False,
        description="Destructive reorganization steps only report their plan.",
    )
    muq_mode: MuqMode = MuqMode.AUTO
    muq_weights: str = Field(
        default=MUQ_PRETRAINED_ID,
        description="Hugging Face id (looked up in the local cache only) or a local folder.",
    )
    muq_random_size: MuqRandomSize = MuqRandomSize.TINY
    muq_device: str = Field(default="auto", description="auto (cuda, then cpu), cpu or cuda[:N]")
    muq_batch_size: int = Field(default=8, ge=1)
    muq_pooling: Pooling = Pooling.NONE
    segment_seconds: float = Field(default=30.0, gt=0)
    min_tail_seconds: float = Field(default=5.0, ge=0)
    chopin2021_base_url: str | None = Field(
        default=None, description="Official results site; default https://chopin2020.pl/"
    )
    chopin2021_channel_url: str | None = Field(
        default=None, description="Listing of the official channel's videos (yt-dlp URL)."
    )
    maestro_source: Path | None = Field(
        default=None,
        description="MAESTRO v3 zip or extracted folder; default: the repo's maestro_cache/.",
    )
    maestro_url: str | None = Field(default=None, description="Download URL of the MAESTRO zip.")
    backfill_partitions_per_run: int = Field(default=50, ge=1)

    @field_validator("root", "sample_dir", "maestro_source", mode="before")
    @classmethod
    def _expand(cls, value: object) -> object:
        if isinstance(value, str) and value.strip() == "":
            return None
        if isinstance(value, (str, Path)):
            return Path(os.path.expanduser(str(value))).absolute()
        return value

    @property
    def uses_sample(self) -> bool:
        return self.root is None

    def model_repo_root(self) -> Path:
        """The validated model repo root; generates the sample when no root is set."""
        if self.root is None:
            from piano_assets.sample.repo import ensure_sample_repo

            return ensure_sample_repo(self.sample_dir)
        return validate_root(self.root)


def validate_root(root: Path) -> Path:
    hint = (
        "set PIANO_ASSETS_ROOT to your model repo (a writable folder), or unset it for the sample"
    )
    if not root.exists():
        raise SettingsError(f"model repo root {root} does not exist; {hint}")
    if not root.is_dir():
        raise SettingsError(f"model repo root {root} is not a directory; {hint}")
    if not os.access(root, os.W_OK | os.X_OK):
        raise SettingsError(f"model repo root {root} is not writable; {hint}")
    return root.resolve()


def load_settings() -> PianoAssetsSettings:
    try:
        return PianoAssetsSettings()
    except ValueError as err:
        raise SettingsError(f"invalid PIANO_ASSETS_* setting: {err}") from err
