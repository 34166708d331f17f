"""The video catalog: matched recordings with stable keys, and the ledger of the rest. Dagster-free.

A recording key reads `<round code>-<family name first>-<nn>`, e.g. `s1-liu-bruce-xiaoyu-01`:
lower-case ASCII, safe as a file name (checked by `validate_key`). Keys are stable: a video
keeps the key it got in the previous catalog as long as it is matched to the same performer
and round; new videos get the next free number, in upload order. A key is never reused for
another video, and no registered recording is dropped silently (see `CatalogBuild.stale`).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from piano_assets.chopin2021.matching import MatchStatus, Roster, TitleMatch, match_title
from piano_assets.chopin2021.names import surname_first_slug
from piano_assets.chopin2021.results import CompetitionResults, Placement, Round
from piano_assets.engine.files import UnsafeNameError, validate_key
from piano_assets.lib.jsonl import read_jsonl
from piano_assets.sources.ytdlp import ListingLike

_MAX_KEY = 128
_SEQ_WIDTH = 2


class CatalogError(ValueError):
    """The catalog on disk or a key is unusable; the message names the file or key."""


class RecordingSpec(BaseModel):
    """One matched recording: one dynamic partition of `chopin2021_recordings`."""

    model_config = ConfigDict(frozen=True)

    recording_id: str
    video_id: str
    title: str
    source_url: str
    playlist: str | None = None
    duration_s: float | None = None
    upload_date: str | None = None
    performer: str
    country: str
    round: Round
    piece: str | None = None
    placement: Placement
    ordinal: int
    prize: str | None = None
    match_reason: str
    stale: bool = Field(
        default=False,
        description="No longer listed (or matched differently); kept so its partition still "
        "resolves, reported by the catalog asset.",
    )


class LedgerItem(BaseModel):
    """A listed video that did not become a recording, and why."""

    model_config = ConfigDict(frozen=True)

    video_id: str
    title: str
    source_url: str
    playlist: str | None = None
    status: MatchStatus
    round: Round | None = None
    candidates: list[str] = Field(default_factory=list)
    reason: str


class CatalogBuild(BaseModel):
    recordings: list[RecordingSpec]
    ledger: list[LedgerItem]
    new_keys: list[str]
    stale: list[str] = Field(
        description="Keys of the previous catalog whose video is no longer listed or matched "
        "the same way; they stay registered and on disk, and are reported."
    )
    stale_recordings: list[RecordingSpec] = Field(default_factory=list)

    def all_recordings(self) -> list[RecordingSpec]:
        """What the catalog file holds: current recordings, then the stale ones (flagged)."""
        return [*self.recordings, *self.stale_recordings]


def recording_key(round_: Round, performer: str, seq: int) -> str:
    """`s1-liu-bruce-xiaoyu-01`. Names with no Latin letters fall back to a short hash."""
    slug = surname_first_slug(performer)
    if not slug:
        slug = "p" + hashlib.sha1(performer.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    suffix = f"-{seq:0{_SEQ_WIDTH}d}"
    prefix = f"{round_.code}-"
    slug = slug[: _MAX_KEY - len(prefix) - len(suffix)].strip("-")
    key = f"{prefix}{slug}{suffix}"
    try:
        return validate_key(key)
    except UnsafeNameError as err:  # pragma: no cover - the slug only holds [a-z0-9-]
        raise CatalogError(f"cannot key {performer!r}: {err}") from err


def _key_base(key: str) -> tuple[str, int]:
    base, _, seq = key.rpartition("-")
    return base, int(seq)


def build_catalog(
    listing: Iterable[ListingLike],
    results: CompetitionResults,
    previous: Sequence[RecordingSpec] = (),
) -> CatalogBuild:
    """Match every listed video; key the matches (stably); ledger the rest."""
    roster = Roster(results)
    previous_by_video = {spec.video_id: spec for spec in previous}
    used: dict[str, set[int]] = {}
    for spec in previous:
        base, seq = _key_base(spec.recording_id)
        used.setdefault(base, set()).add(seq)

    unique: dict[str, ListingLike] = {}
    for item in listing:
        unique.setdefault(item.video_id, item)
    ordered = sorted(unique.values(), key=lambda i: (i.upload_date or "", i.video_id))

    recordings: list[RecordingSpec] = []
    ledger: list[LedgerItem] = []
    new_keys: list[str] = []
    for item in ordered:
        match = match_title(item.title, roster, playlist=item.playlist)
        performer = results.find(match.performer) if match.performer else None
        if match.status is not MatchStatus.MATCHED or performer is None or match.round is None:
            ledger.append(_ledger_item(item, match))
            continue
        earlier = previous_by_video.get(item.video_id)
        if earlier is not None and (earlier.performer, earlier.round) == (
            performer.name,
            match.round,
        ):
            key = earlier.recording_id
        else:
            base = recording_key(match.round, performer.name, 1).rpartition("-")[0]
            seqs = used.setdefault(base, set())
            seq = next(n for n in itertools.count(1) if n not in seqs)
            seqs.add(seq)
            key = recording_key(match.round, performer.name, seq)
            new_keys.append(key)
        recordings.append(
            RecordingSpec(
                recording_id=key,
                video_id=item.video_id,
                title=item.title,
                source_url=item.url,
                playlist=item.playlist,
                duration_s=item.duration_s,
                upload_date=item.upload_date,
                performer=performer.name,
                country=performer.country,
                round=match.round,
                piece=match.piece,
                placement=performer.placement,
                ordinal=performer.ordinal,
                prize=performer.prize,
                match_reason=match.reason,
            )
        )
    current = {spec.recording_id for spec in recordings}
    stale_specs = [
        spec.model_copy(update={"stale": True})
        for spec in previous
        if spec.recording_id not in current
    ]
    recordings.sort(key=lambda spec: spec.recording_id)
    return CatalogBuild(
        recordings=recordings,
        ledger=ledger,
        new_keys=new_keys,
        stale=sorted(spec.recording_id for spec in stale_specs),
        stale_recordings=sorted(stale_specs, key=lambda spec: spec.recording_id),
    )


def _ledger_item(item: ListingLike, match: TitleMatch) -> LedgerItem:
    return LedgerItem(
        video_id=item.video_id,
        title=item.title,
        source_url=item.url,
        playlist=item.playlist,
        status=match.status,
        round=match.round,
        candidates=match.candidates,
        reason=match.reason,
    )


# -- on disk -----------------------------------------------------------------------------------


def read_catalog(path: Path) -> list[RecordingSpec]:
    """The catalog written by the last `chopin2021_video_catalog` run ([] if none yet)."""
    return read_jsonl(
        path, RecordingSpec, missing_ok=True, what="a catalog record", error=CatalogError
    )


def catalog_by_key(specs: Iterable[RecordingSpec]) -> dict[str, RecordingSpec]:
    return {spec.recording_id: spec for spec in specs}
