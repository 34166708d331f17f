"""Validated settings: which model repo, which MuQ, which outside world. Dagster-free.

Every field can be set by an environment variable `PIANO_ASSETS_<FIELD>` (for example
`PIANO_ASSETS_ROOT=/path/to/model-repo`). Production code never generates the embedded sample:
`piano-assets main` and `./dev ui` generate it and point these settings at it.

A bad value never stops the code location from loading: `settings_problem()` holds the error,
the resources fall back to the defaults for the definitions, and every run that needs a
resource fails at once with the message (see `piano_assets.resources`).
"""

from __future__ import annotations

import functools
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from piano_assets.scale_settings import ScaleOutSettings

PLATFORM_HOME = Path(__file__).resolve().parents[1]
MUQ_PRETRAINED_ID = "OpenMuQ/MuQ-large-msd-iter"
CHOPIN2021_BASE_URL = "https://chopin2020.pl/"
CHOPIN2021_CHANNEL_URL = "https://www.youtube.com/@chopininstitute/videos"


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
        description="The model repo to reorganize and fill (`piano-assets main` and `./dev ui` "
        "set it to the embedded sample when it is unset).",
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
    muq_batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        default="auto", description="Segments per batch; auto: 1 on a CPU, what fits on a GPU."
    )
    muq_compute_dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto", description="Autocast dtype on CUDA (auto: bfloat16); a CPU uses float32."
    )
    decode_workers: int | None = Field(
        default=None,
        ge=0,
        description="Decode threads ahead of MuQ; unset: one per core (<= 8) with MuQ on a GPU, "
        "none with MuQ on the CPU.",
    )
    prefetch_segments: int | None = Field(
        default=None, ge=1, description="Decoded segments waiting for MuQ at most; unset: auto."
    )
    muq_pooling: Pooling = Pooling.NONE
    segment_seconds: float = Field(default=30.0, gt=0)
    min_tail_seconds: float = Field(default=5.0, ge=0)
    duration_tolerance_s: float = Field(
        default=2.0,
        ge=0,
        description="How far a decoded duration may differ from a declared one (the container's, "
        "the source's) before the recording is rejected as truncated; 1 % of long recordings "
        "is allowed too.",
    )
    chopin2021_base_url: str = Field(
        default=CHOPIN2021_BASE_URL, description="Official results site (the 2021 edition's)."
    )
    chopin2021_channel_url: str = Field(
        default=CHOPIN2021_CHANNEL_URL,
        description="Listing of the official channel's videos (a yt-dlp URL).",
    )
    maestro_source: Path | None = Field(
        default=None,
        description="MAESTRO v3 zip or extracted folder; default: the repo's maestro_cache/.",
    )
    maestro_url: str | None = Field(default=None, description="Download URL of the MAESTRO zip.")
    maestro_sha256: str | None = Field(
        default=None, description="SHA-256 of the MAESTRO zip; default: the published one."
    )
    maestro_verify_sha256: bool = Field(
        default=False,
        description="Hash the MAESTRO zip (101 GB: minutes) before reading it; once per file.",
    )
    youtube_piano_channels_file: Path | None = Field(
        default=None,
        description="T4: a channel list replacing the curated one shipped in the package (the "
        "model repo's youtube_piano_cache/channels.yaml can still add and remove channels).",
    )
    youtube_piano_min_duration_s: float = Field(
        default=120.0, ge=0, description="T4: shorter listed videos are dropped."
    )
    youtube_piano_max_duration_s: float = Field(
        default=4 * 3600.0, gt=0, description="T4: longer listed videos are dropped."
    )
    youtube_piano_augmented_versions: int = Field(
        default=1,
        ge=1,
        le=64,
        description="T4: augmented versions per segment (each its own seeded chain).",
    )
    ytdlp_allow_file_urls: bool = Field(
        default=False,
        description="Let yt-dlp read file:// URLs (the embedded sample's local outside world).",
    )
    backfill_partitions_per_run: int = Field(default=50, ge=1)
    # yt-dlp and real YouTube (a session gets about 300 videos an hour; see the README).
    ytdlp_sleep_interval_s: float | None = Field(
        default=None, ge=0, description="Pause before each download; unset: 5 s on YouTube."
    )
    ytdlp_max_sleep_interval_s: float | None = Field(
        default=None, ge=0, description="Random pause up to this; unset: 10 s on YouTube."
    )
    ytdlp_sleep_requests_s: float | None = Field(
        default=None, ge=0, description="Pause between a listing's requests; unset: 1 s on YouTube."
    )
    ytdlp_cookies_file: Path | None = Field(
        default=None, description="Netscape cookies file for YouTube (risks the account)."
    )
    ytdlp_po_token_provider_url: str | None = Field(
        default=None,
        description="Base URL of a bgutil PO-token provider, e.g. http://127.0.0.1:4416",
    )
    ytdlp_extractor_args: list[str] = Field(
        default_factory=list,
        description='yt-dlp extractor arguments, JSON list: ["youtube:po_token=web.gvs+TOKEN"]',
    )
    ytdlp_js_runtime_path: Path | None = Field(
        default=None, description="The deno binary; unset: the venv's (yt-dlp[default,deno])."
    )

    @field_validator(
        "root",
        "sample_dir",
        "maestro_source",
        "youtube_piano_channels_file",
        "ytdlp_cookies_file",
        "ytdlp_js_runtime_path",
        mode="before",
    )
    @classmethod
    def _expand(cls, value: object) -> object:
        if isinstance(value, str) and value.strip() == "":
            return None
        if isinstance(value, (str, Path)):
            return Path(os.path.expanduser(str(value))).absolute()
        return value

    def model_repo_root(self) -> Path:
        """The validated model repo root."""
        if self.root is None:
            raise SettingsError(
                "no model repo: set PIANO_ASSETS_ROOT to your model repo, or use `./dev main` / "
                "`./dev ui`, which generate the embedded sample and point the settings at it"
            )
        return validate_root(self.root)


class SourceLocations(BaseModel):
    """Where each tier finds its recordings, as plain values the tier adapters read."""

    chopin2021_base_url: str = CHOPIN2021_BASE_URL
    chopin2021_channel_url: str = CHOPIN2021_CHANNEL_URL
    maestro_source: Path | None = None
    maestro_url: str | None = None
    maestro_sha256: str | None = None
    maestro_verify_sha256: bool = False
    youtube_piano_channels_file: Path | None = None
    youtube_piano_min_duration_s: float = 120.0
    youtube_piano_max_duration_s: float = 4 * 3600.0


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
        raise SettingsError(f"invalid PIANO_ASSETS_* setting: {_plain(err)}") from err


def _plain(err: ValueError) -> str:
    """Each problem as `PIANO_ASSETS_<NAME>=<value>: <what is wrong>`."""
    from pydantic import ValidationError

    if not isinstance(err, ValidationError):
        return str(err)
    return "; ".join(
        f"PIANO_ASSETS_{'_'.join(str(part) for part in e['loc']).upper()}={e.get('input')!r}: "
        f"{e['msg']}"
        for e in err.errors()
    )


@functools.cache
def settings_or_defaults() -> tuple[PianoAssetsSettings, str | None]:
    """The settings, or the defaults and the problem when a PIANO_ASSETS_* value is bad.

    Definitions are built from this so that a bad value never stops the code location from
    loading; the resources raise the problem when a run needs them.
    """
    try:
        return load_settings(), None
    except SettingsError as err:
        return PianoAssetsSettings.model_construct(), str(err)


def settings_problem() -> str | None:
    return settings_or_defaults()[1]
