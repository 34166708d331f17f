"""The curated channel list of T4 and the model repo's additions and removals. Dagster-free.

The package ships `channels.yaml` (versioned). A model repo may add or remove channels in
`model/data/youtube_piano_cache/channels.yaml`:

```yaml
add:
  - key: my-hall
    name: My Hall
    url: https://www.youtube.com/@myhall
    ...  # the same fields as the shipped list
remove:
  - medici-tv
```

Both files go through the same validation: unknown fields, duplicate keys, URLs or channel ids,
and URLs that do not name a channel are refused with a message naming the file and the entry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from piano_assets.engine.files import UnsafeNameError, validate_key

__all__ = [
    "CHANNELS_OVERRIDE_NAME",
    "Channel",
    "ChannelCategory",
    "ChannelList",
    "ChannelListing",
    "ChannelOverrides",
    "ChannelsError",
    "EffectiveChannels",
    "channel_listing_url",
    "effective_channels",
    "load_channel_list",
    "load_channel_overrides",
    "load_curated_channels",
    "parse_channel_list",
]

CHANNELS_OVERRIDE_NAME = "channels.yaml"
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"})
_HANDLE = re.compile(r"^@[A-Za-z0-9._-]{3,30}$")
_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")
_LEGACY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_FEED_SCHEMES = frozenset({"http", "https", "file"})
_FileT = TypeVar("_FileT", bound=BaseModel)


class ChannelsError(ValueError):
    """A channel file is invalid; the message names the file, the entry and the cause."""


class ChannelCategory(StrEnum):
    COMPETITION = "competition"
    FESTIVAL = "festival"
    CONCERT_HALL = "concert_hall"
    BROADCASTER = "broadcaster"
    CONSERVATORY = "conservatory"
    PIANO_MAKER = "piano_maker"
    OTHER = "other"


class ChannelListing(StrEnum):
    """How the channel is listed: a YouTube channel page, or a feed (RSS) yt-dlp reads."""

    YOUTUBE = "youtube"
    FEED = "feed"


def _youtube_channel_path(path: str) -> str | None:
    """The canonical channel part of a YouTube URL path ('@handle', 'channel/UC…'), or None."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] in {"videos", "featured"}:
        parts = parts[:-1]
    if len(parts) == 1 and _HANDLE.match(parts[0]):
        return parts[0]
    if len(parts) == 2 and parts[0] == "channel" and _CHANNEL_ID.match(parts[1]):
        return f"channel/{parts[1]}"
    if len(parts) == 2 and parts[0] in {"c", "user"} and _LEGACY_NAME.match(parts[1]):
        return f"{parts[0]}/{parts[1]}"
    return None


class Channel(BaseModel):
    """One channel: where its videos are listed, why it is in, and what is known to be true."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="Stable short name, safe as a file name (e.g. 'cliburn').")
    name: str = Field(min_length=1)
    url: str = Field(description="https://www.youtube.com/@handle (or /channel/UC…); a feed URL.")
    listing: ChannelListing = ChannelListing.YOUTUBE
    channel_id: str | None = Field(default=None, description="UC… id; null when unconfirmed.")
    verified: bool = Field(description="True only when handle and channel id were checked.")
    category: ChannelCategory
    why: str = Field(min_length=1, description="Why the channel is in the list.")
    content: str = Field(min_length=1, description="The kind of content it publishes.")
    licence: str = Field(min_length=1)
    evidence: str | None = Field(default=None, description="Where the handle/id was confirmed.")

    @field_validator("key")
    @classmethod
    def _key_is_safe(cls, value: str) -> str:
        try:
            return validate_key(value)
        except UnsafeNameError as err:
            raise ValueError(str(err)) from err

    @field_validator("channel_id")
    @classmethod
    def _channel_id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_ID.match(value):
            raise ValueError(f"{value!r} is not a YouTube channel id ('UC' + 22 characters)")
        return value

    @model_validator(mode="after")
    def _url_names_a_channel(self) -> Channel:
        parts = urlsplit(self.url)
        if self.listing is ChannelListing.FEED:
            if parts.scheme not in _FEED_SCHEMES or not (parts.netloc or parts.path):
                raise ValueError(f"feed URL {self.url!r} must be http(s):// or file://")
            if parts.netloc.lower() in _YOUTUBE_HOSTS:
                raise ValueError(f"{self.url!r} is a YouTube URL: use listing 'youtube'")
            return self
        if parts.scheme != "https" or parts.netloc.lower() not in _YOUTUBE_HOSTS:
            raise ValueError(
                f"{self.url!r} is not a YouTube channel URL "
                "(expected https://www.youtube.com/@handle or /channel/UC…)"
            )
        if parts.query or _youtube_channel_path(parts.path) is None:
            raise ValueError(
                f"{self.url!r} does not name a channel (a video, playlist or shorts URL?); "
                "expected https://www.youtube.com/@handle or /channel/UC…"
            )
        if self.verified and self.channel_id is None:
            raise ValueError("verified: true needs the confirmed channel_id")
        return self

    @property
    def identity(self) -> str:
        """What makes two entries the same channel: the canonical URL, case-insensitively."""
        if self.listing is ChannelListing.FEED:
            return self.url
        path = _youtube_channel_path(urlsplit(self.url).path) or ""
        return f"youtube:{path.lower()}"


def channel_listing_url(channel: Channel) -> str:
    """The URL to list flat: a channel's Videos tab (no Shorts, no Live tab), or the feed."""
    if channel.listing is ChannelListing.FEED:
        return channel.url
    path = _youtube_channel_path(urlsplit(channel.url).path)
    return f"https://www.youtube.com/{path}/videos"


def _check_unique(channels: Sequence[Channel], where: str) -> None:
    seen: dict[str, dict[str, str]] = {"key": {}, "url": {}, "channel id": {}}
    for channel in channels:
        for field, value in (
            ("key", channel.key),
            ("url", channel.identity),
            ("channel id", channel.channel_id),
        ):
            if value is None:
                continue
            if value in seen[field]:
                raise ChannelsError(
                    f"{where}: duplicate {field} {value!r}: channels "
                    f"{seen[field][value]!r} and {channel.key!r}"
                )
            seen[field][value] = channel.key


class ChannelList(BaseModel):
    """The shipped, versioned list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    channels: list[Channel] = Field(min_length=1)


class ChannelOverrides(BaseModel):
    """The model repo's changes to the shipped list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add: list[Channel] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class EffectiveChannels(BaseModel):
    """The channels T4 lists: the shipped ones, less removals, plus additions."""

    model_config = ConfigDict(frozen=True)

    version: str = Field(description="'<shipped version>' or '<shipped>+<overrides sha256[:12]>'.")
    channels: list[Channel]
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    overrides_path: str | None = None

    def by_key(self) -> dict[str, Channel]:
        return {channel.key: channel for channel in self.channels}

    def unverified(self) -> list[str]:
        return [channel.key for channel in self.channels if not channel.verified]


def _describe(err: ValidationError, where: str, data: Any) -> str:
    lines = []
    for problem in err.errors():
        location = list(problem["loc"])
        # Name the entry by its key when the location points into a list of channels.
        if len(location) >= 2 and isinstance(location[1], int) and isinstance(data, dict):
            entries = data.get(str(location[0])) or []
            if location[1] < len(entries) and isinstance(entries[location[1]], dict):
                key = entries[location[1]].get("key")
                if key:
                    location[1] = f"{location[1]} ({key})"
        place = ".".join(str(part) for part in location) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown field (allowed: " + ", ".join(Channel.model_fields) + ")"
        lines.append(f"{place}: {message}")
    return f"{where}: invalid channel file:\n  " + "\n  ".join(lines)


def _read_yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ChannelsError(f"{where}: not valid YAML: {err}") from err


def _validated(model: type[_FileT], data: Any, where: str, expected: str) -> _FileT:
    """`data` (parsed YAML) as `model`; errors name the file, the entry and the cause."""
    if not isinstance(data, dict):
        raise ChannelsError(f"{where}: expected a mapping with {expected}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ChannelsError(_describe(err, where, data)) from err


def parse_channel_list(text: str, where: str = "channels.yaml") -> ChannelList:
    data = _read_yaml(text, where)
    parsed = _validated(ChannelList, data, where, "'version' and 'channels'")
    _check_unique(parsed.channels, where)
    return parsed


def load_curated_channels() -> ChannelList:
    """The list shipped in the package (`piano_assets/youtube_piano/channels.yaml`)."""
    text = (
        resources.files("piano_assets.youtube_piano").joinpath("channels.yaml").read_text("utf-8")
    )
    return parse_channel_list(text, "piano_assets/youtube_piano/channels.yaml")


def load_channel_list(path: Path) -> ChannelList:
    """A full channel list from a file: the sample world's, or one replacing the shipped list."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ChannelsError(f"{path}: cannot read the channel list: {err}") from err
    return parse_channel_list(text, str(path))


def parse_channel_overrides(text: str, where: str) -> ChannelOverrides:
    data = _read_yaml(text, where)
    if data is None:
        return ChannelOverrides()
    parsed = _validated(ChannelOverrides, data, where, "'add' and/or 'remove'")
    _check_unique(parsed.add, where)
    if len(set(parsed.remove)) != len(parsed.remove):
        raise ChannelsError(f"{where}: 'remove' names a channel twice")
    return parsed


def load_channel_overrides(path: Path) -> ChannelOverrides | None:
    """The model repo's overrides, or None when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    return parse_channel_overrides(path.read_text(encoding="utf-8"), str(path))


def apply_overrides(
    curated: ChannelList, overrides: ChannelOverrides | None, where: str, digest: str = ""
) -> EffectiveChannels:
    if overrides is None:
        return EffectiveChannels(version=str(curated.version), channels=list(curated.channels))
    known = {channel.key for channel in curated.channels}
    unknown = [key for key in overrides.remove if key not in known]
    if unknown:
        raise ChannelsError(
            f"{where}: remove names unknown channels {unknown}; known: {sorted(known)}"
        )
    kept = [channel for channel in curated.channels if channel.key not in set(overrides.remove)]
    merged = kept + list(overrides.add)
    _check_unique(merged, f"{where} (with the shipped list)")
    if not merged:
        raise ChannelsError(f"{where}: removes every channel; T4 would list nothing")
    return EffectiveChannels(
        version=f"{curated.version}+{digest}" if digest else str(curated.version),
        channels=merged,
        added=[channel.key for channel in overrides.add],
        removed=list(overrides.remove),
        overrides_path=where,
    )


def effective_channels(
    overrides_path: Path | None, curated: ChannelList | None = None
) -> EffectiveChannels:
    """The shipped list (or `curated`) with the model repo's `add`/`remove` applied, validated."""
    curated = curated or load_curated_channels()
    if overrides_path is None or not Path(overrides_path).exists():
        return apply_overrides(curated, None, "")
    raw = Path(overrides_path).read_bytes()
    overrides = parse_channel_overrides(raw.decode("utf-8"), str(overrides_path))
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return apply_overrides(curated, overrides, str(overrides_path), digest)


def channel_table(channels: Iterable[Channel]) -> str:
    """A markdown table of the channels (for asset metadata and the README)."""
    lines = [
        "| key | name | URL | channel id | verified | category | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for channel in channels:
        cells = [
            channel.key,
            channel.name,
            channel.url,
            channel.channel_id or "unconfirmed",
            "yes" if channel.verified else "no",
            channel.category.value,
            channel.why,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
