"""One T4 recording's audio: yt-dlp to 24 kHz mono WAV, with a failure ledger. Dagster-free.

`fetch_audio` is what the tier adapter calls per recording. It is resumable (the client keeps
partial downloads and yt-dlp's download archive), and it consults and updates a failure ledger
(`youtube_piano_downloads.jsonl`, one line per failed attempt):

* a recording whose last failure was permanent (private, removed, 404) is not tried again; the
  call fails at once with the recorded cause (unless `retry_permanent=True`);
* a retry-later failure (rate limit, network) is not retried before its `retry_after`;
* every new failure is classified, appended, and raised as `RecordingDownloadError`, whose
  message names the recording, the video and the cause in plain words.

Pacing between downloads is the client's `sleep_between_downloads_s`; concurrency is the
Dagster pool's business.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from piano_assets.lib.jsonl import read_jsonl, write_jsonl
from piano_assets.sources.errors import SourceError
from piano_assets.sources.ytdlp import DownloadedAudio, YtDlpClient
from piano_assets.youtube_piano.catalog import KeptVideo
from piano_assets.youtube_piano.failures import (
    DownloadFailure,
    FailureKind,
    classify_error,
)

__all__ = [
    "FailureLedger",
    "FailureLedgerRow",
    "RecordingDownloadError",
    "fetch_audio",
]


class FailureLedgerRow(BaseModel):
    """One failed download attempt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recording_id: str
    video_id: str
    url: str
    attempt: int
    failed_at: datetime
    retry_after: datetime | None
    failure: DownloadFailure


class RecordingDownloadError(Exception):
    """A recording's audio could not be had; `failure` says whether a retry can help."""

    def __init__(self, message: str, *, recording_id: str, failure: DownloadFailure):
        super().__init__(message)
        self.recording_id = recording_id
        self.failure = failure

    @property
    def permanent(self) -> bool:
        return self.failure.permanent

    @property
    def classification(self) -> str:
        """ "permanent" or "retry_later": recorded in the tier's failure ledger."""
        return self.failure.kind.value


class FailureLedger:
    """Failed attempts, one JSON line each; the latest line per recording is its state."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def rows(self) -> list[FailureLedgerRow]:
        return read_jsonl(
            self.path,
            FailureLedgerRow,
            missing_ok=True,
            what="a failure ledger row",
            error=ValueError,
        )

    def latest(self) -> dict[str, FailureLedgerRow]:
        return {row.recording_id: row for row in self.rows()}

    def append(self, row: FailureLedgerRow) -> None:
        write_jsonl(self.path, [*self.rows(), row])

    def clear(self, recording_id: str) -> None:
        """Forget a recording's failures (after it downloaded)."""
        rows = self.rows()
        kept = [r for r in rows if r.recording_id != recording_id]
        if len(kept) != len(rows):
            write_jsonl(self.path, kept)

    def permanent(self) -> list[str]:
        return sorted(k for k, r in self.latest().items() if r.failure.permanent)


def _plain(failure: DownloadFailure) -> str:
    if failure.kind is FailureKind.PERMANENT:
        return f"permanently unavailable ({failure.category.value}); it will not be retried"
    return f"temporarily unavailable ({failure.category.value}); retry later"


def fetch_audio(
    client: YtDlpClient,
    video: KeptVideo,
    out_path: Path,
    *,
    archive_file: Path,
    work_dir: Path,
    ledger: FailureLedger,
    retry_permanent: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DownloadedAudio:
    """Make `out_path` hold the recording's 24 kHz mono WAV, or raise `RecordingDownloadError`."""
    subject = f"recording {video.recording_id} (video {video.video_id}, {video.url})"
    previous = ledger.latest().get(video.recording_id)
    if previous is not None and not out_path.exists():
        if previous.failure.permanent and not retry_permanent:
            raise RecordingDownloadError(
                f"{subject}: {_plain(previous.failure)}; recorded "
                f"{previous.failed_at.isoformat(timespec='seconds')}: {previous.failure.message}",
                recording_id=video.recording_id,
                failure=previous.failure,
            )
        if previous.retry_after is not None and now() < previous.retry_after:
            raise RecordingDownloadError(
                f"{subject}: {_plain(previous.failure)}; not before "
                f"{previous.retry_after.isoformat(timespec='seconds')}: "
                f"{previous.failure.message}",
                recording_id=video.recording_id,
                failure=previous.failure,
            )
    try:
        done = client.download_audio(
            video.url,
            out_path,
            recording_id=video.recording_id,
            archive_file=archive_file,
            work_dir=work_dir,
        )
    except SourceError as err:
        failure = classify_error(err, youtube="youtube.com/" in video.url)
        failed_at = now()
        wait = failure.retry_after_s
        ledger.append(
            FailureLedgerRow(
                recording_id=video.recording_id,
                video_id=video.video_id,
                url=video.url,
                attempt=(previous.attempt + 1) if previous else 1,
                failed_at=failed_at,
                retry_after=failed_at + timedelta(seconds=wait) if wait else None,
                failure=failure,
            )
        )
        raise RecordingDownloadError(
            f"{subject}: {_plain(failure)}: {failure.message}",
            recording_id=video.recording_id,
            failure=failure,
        ) from err
    if previous is not None:
        ledger.clear(video.recording_id)
    return done
