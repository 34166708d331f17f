"""Every worker must see the same model repo root (NFS, EFS, a hostPath, ...).

On first use the root gets a marker, `<root>/.piano_assets/root.json`, with a random id. Each
worker checks the root before it works on it, and fails at once, naming the path and the host,
when the root is missing, empty (a mount point with nothing mounted), unwritable, or a different
repo than the one expected (`PIANO_ASSETS_ROOT_ID`, when set on every worker).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from piano_assets.deploy.files import create_text_exclusively

MARKER_RELATIVE = Path(".piano_assets") / "root.json"
MOUNT_HINT = "every worker must mount the model repo root (NFS, EFS, ...) at the same path"


class SharedRootError(RuntimeError):
    """This worker cannot use the model repo root; the message names the path and the host."""


class RootMarker(BaseModel):
    """`<root>/.piano_assets/root.json`: which model repo this is."""

    root_id: str
    created_at: str
    created_on_host: str
    created_at_path: str


def marker_path(root: Path) -> Path:
    return root / MARKER_RELATIVE


def _fail(root: Path, what: str) -> SharedRootError:
    return SharedRootError(
        f"model repo root {root} {what} on worker {socket.gethostname()}; {MOUNT_HINT}"
    )


def read_root_marker(root: Path) -> RootMarker | None:
    path = marker_path(root)
    if not path.exists():
        return None
    try:
        return RootMarker.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as err:
        raise _fail(root, f"has an unreadable marker {path} ({err})") from err


def verify_shared_root(root: Path, expected_id: str | None = None) -> RootMarker:
    """Check that this worker sees the model repo at `root`; write its marker on first use."""
    if not root.exists():
        raise _fail(root, "does not exist")
    if not root.is_dir():
        raise _fail(root, "is not a directory")
    if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        raise _fail(root, "is not readable and writable")
    marker = read_root_marker(root)
    if marker is None:
        if not any(root.iterdir()):
            raise _fail(root, "is empty (nothing mounted there?)")
        if expected_id is not None:
            raise _fail(
                root, f"has no marker {marker_path(root)} but PIANO_ASSETS_ROOT_ID={expected_id}"
            )
        candidate = RootMarker(
            root_id=uuid.uuid4().hex,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            created_on_host=socket.gethostname(),
            created_at_path=str(root),
        )
        create_text_exclusively(marker_path(root), candidate.model_dump_json(indent=2) + "\n")
        marker = read_root_marker(root)  # another worker may have written first: theirs wins
        if marker is None:
            raise _fail(root, f"lost its marker {marker_path(root)} while it was written")
    if expected_id is not None and marker.root_id != expected_id:
        raise _fail(
            root,
            f"is a different model repo (id {marker.root_id} in {marker_path(root)}, "
            f"PIANO_ASSETS_ROOT_ID={expected_id})",
        )
    return marker
