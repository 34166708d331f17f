"""Errors of the reorganization; every message names the files involved and what to do."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from piano_assets.reorganize.records import StepPlan


class ReorganizeError(RuntimeError):
    """Base of every reorganization error. `plan` is the plan the step refused to finish."""

    def __init__(self, message: str, plan: StepPlan | None = None) -> None:
        super().__init__(message)
        self.plan = plan


class DestinationConflictError(ReorganizeError):
    """A different file already sits where a file must go: nothing is overwritten."""

    def __init__(self, source: Path, destination: Path, source_sha: str, found_sha: str):
        self.source = source
        self.destination = destination
        super().__init__(
            f"refusing to overwrite {destination}: it differs from {source} "
            f"(sha256 {found_sha[:12]} there, {source_sha[:12]} expected). Move one of the two "
            "aside (or delete the one you do not want) and re-run"
        )


class CopyVerificationError(ReorganizeError):
    """The bytes written do not hash to what the inventory recorded."""


class TrashError(ReorganizeError):
    """A file could not be put in (or taken out of) the trash safely."""


class FileSystemError(ReorganizeError):
    """The file system refused an operation (permissions, read-only, full disk, a file where a
    folder must be). The step stopped there; what it had done stays, and a re-run resumes."""


class StepBlockedError(ReorganizeError):
    """A step's preconditions do not hold; it deleted nothing that depends on them."""


# What the file system's refusals mean for a person, by errno.
_OS_ERROR_MEANINGS: dict[int, str] = {
    errno.EACCES: "permission denied (the folder is read-only or belongs to another user)",
    errno.EPERM: "permission denied (the folder or file is read-only, immutable or not yours)",
    errno.EROFS: "the file system is mounted read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.ENOTDIR: "a file stands where a folder must be",
    errno.EISDIR: "a folder stands where a file must be",
    errno.EEXIST: "something already exists there",
    errno.ENOENT: "it vanished while the step ran",
    errno.EXDEV: "it lies on another file system",
}


def describe_os_error(err: OSError, root: Path) -> str:
    """'could not … <path>: permission denied (…)', paths shown relative to `root`."""

    def shown(name: object) -> str:
        if name is None:
            return ""
        path = Path(os.fsdecode(name))  # type: ignore[arg-type]
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return str(path)

    meaning = _OS_ERROR_MEANINGS.get(err.errno or -1, err.strerror or type(err).__name__)
    where = shown(err.filename)
    if err.filename2 is not None:
        where = f"{where} -> {shown(err.filename2)}"
    return f"the file system refused an operation on {where or 'a file'}: {meaning}"
