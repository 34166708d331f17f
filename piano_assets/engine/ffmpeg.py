"""Locate an ffmpeg binary: the system one, else the static build shipped by imageio-ffmpeg."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path


class FfmpegNotFoundError(RuntimeError):
    pass


@functools.cache
def ffmpeg_exe() -> str:
    """Path of an ffmpeg executable. `PIANO_ASSETS_FFMPEG` overrides the search."""
    override = os.environ.get("PIANO_ASSETS_FFMPEG")
    if override:
        return override
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as err:  # pragma: no cover - it is a declared dependency
        raise FfmpegNotFoundError(
            "no ffmpeg on PATH and imageio-ffmpeg is not installed; "
            "install ffmpeg or `pip install imageio-ffmpeg`"
        ) from err
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def ffmpeg_dir() -> Path:
    """A folder with an executable named exactly `ffmpeg` (yt-dlp's `ffmpeg_location` needs one)."""
    exe = Path(ffmpeg_exe())
    if exe.name == "ffmpeg":
        return exe.parent
    link_dir = Path.home() / ".cache" / "piano_assets" / "ffmpeg-bin"
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / "ffmpeg"
    if not link.exists() or link.resolve() != exe.resolve():
        tmp = link_dir / f".ffmpeg-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(exe)
        os.replace(tmp, link)
    return link_dir


@functools.cache
def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version` (recorded with every conversion), or "unknown"."""
    import subprocess

    try:
        result = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = result.stdout.splitlines()[0] if result.stdout else ""
    return first.removeprefix("ffmpeg version ").split(" Copyright")[0].strip() or "unknown"
