"""Build and run the masterclass pipeline from its new place (cargo, offline). Dagster-free.

The build goes to `<root>/.piano_assets/reorganize/cargo-target/` so the pipeline's source
tree stays clean. `status` runs twice: with `--data-dir <new data folder>`, and with no flag
from the crate folder (the rewritten default). Both must report what Python counts in the
data folder, line for line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize.paths import ReorganizePaths
from piano_assets.reorganize.plan import PIPELINE_NAME

STATUS_FOLDERS: tuple[str, ...] = ("audio", "transcripts", "segments", "teaching_moments", "state")
BUILD_TIMEOUT_S = 600


def find_cargo() -> Path | None:
    """cargo on PATH, else rustup's default place (~/.cargo/bin)."""
    found = shutil.which("cargo")
    if found:
        return Path(found)
    fallback = Path.home() / ".cargo" / "bin" / "cargo"
    return fallback if fallback.is_file() and os.access(fallback, os.X_OK) else None


def expected_status(data_dir: Path) -> dict[str, str]:
    """What `status` must print for `data_dir` (mirrors src/status.rs), without `data_dir`."""
    sources_text = (data_dir / "sources.yaml").read_text(encoding="utf-8")
    videos_text = (data_dir / "videos.jsonl").read_text(encoding="utf-8")
    report = {
        "sources": str(
            sum(1 for line in sources_text.splitlines() if line.lstrip().startswith("- "))
        ),
        "videos": str(sum(1 for line in videos_text.splitlines() if line.strip())),
    }
    for folder in STATUS_FOLDERS:
        files = total = 0
        for current, _folders, names in os.walk(data_dir / folder):
            for name in names:
                path = Path(current) / name
                if path.is_file() and not path.is_symlink():
                    files += 1
                    total += path.stat().st_size
        report[folder] = f"{files} files, {total} bytes"
    return report


def parse_status(stdout: str) -> dict[str, str]:
    report: dict[str, str] = {}
    for line in stdout.splitlines():
        key, separator, value = line.partition(": ")
        if separator:
            report[key.strip()] = value.strip()
    return report


@dataclass
class PipelineProbe:
    """What building and running the pipeline showed; `problems` empty means it works."""

    cargo: Path | None
    built: bool = False
    build_seconds: float = 0.0
    binary: Path | None = None
    expected: dict[str, str] = field(default_factory=dict)
    with_flag: dict[str, str] = field(default_factory=dict)
    by_default: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    output_tail: str = ""


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr)[-2000:]


def probe_pipeline(
    layout: ModelRepoLayout, cargo: Path, timeout_s: int = BUILD_TIMEOUT_S
) -> PipelineProbe:
    """`cargo build --offline` in model/tools/masterclass-pipeline, then `status` twice."""
    probe = PipelineProbe(cargo)
    manifest = layout.pipeline / "Cargo.toml"
    if not manifest.is_file():
        probe.problems.append(f"{manifest} is missing: nothing to build")
        return probe
    target = ReorganizePaths(layout).cargo_target
    target.mkdir(parents=True, exist_ok=True)
    command = [str(cargo), "build", "--offline", "--manifest-path", str(manifest)]
    if (layout.pipeline / "Cargo.lock").is_file():
        command.append("--locked")  # never let the check rewrite the committed lock file
    env = {**os.environ, "CARGO_TARGET_DIR": str(target), "CARGO_TERM_COLOR": "never"}
    started = time.monotonic()
    try:
        build = subprocess.run(
            command,
            cwd=layout.pipeline,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        probe.problems.append(f"cargo build did not finish within {timeout_s} s")
        return probe
    probe.build_seconds = round(time.monotonic() - started, 2)
    probe.output_tail = _tail(build)
    if build.returncode != 0:
        probe.problems.append(f"cargo build failed (exit {build.returncode}) in {layout.pipeline}")
        return probe
    probe.built = True
    probe.binary = target / "debug" / PIPELINE_NAME
    missing = [
        name
        for name in ("sources.yaml", "videos.jsonl")
        if not (layout.pipeline_data / name).is_file()
    ]
    if missing:
        # Built, but there is nothing to run it on yet (masterclass_pipeline_data not moved).
        probe.problems.append(
            f"built, but {layout.pipeline_data} lacks {', '.join(missing)}: materialize "
            "masterclass_pipeline_data, then re-run this check"
        )
        return probe
    try:
        probe.expected = expected_status(layout.pipeline_data)
    except (OSError, UnicodeDecodeError) as err:
        probe.problems.append(f"cannot read {layout.pipeline_data}: {err}")
        return probe
    data_dir = str(layout.pipeline_data)
    for label, args, report in (
        ("status --data-dir", ["--data-dir", data_dir, "status"], probe.with_flag),
        ("status (default data dir)", ["status"], probe.by_default),
    ):
        run = subprocess.run(
            [str(probe.binary), *args],
            cwd=layout.pipeline,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if run.returncode != 0:
            probe.problems.append(f"`{label}` failed (exit {run.returncode}): {_tail(run).strip()}")
            continue
        report.update(parse_status(run.stdout))
        reported_dir = (layout.pipeline / report.pop("data_dir", "")).resolve()
        if reported_dir != layout.pipeline_data.resolve():
            probe.problems.append(f"`{label}` read {reported_dir}, not {layout.pipeline_data}")
        if report != probe.expected:
            probe.problems.append(f"`{label}` reported {report}, expected {probe.expected}")
    return probe
