"""kill -9 in the middle of the reorganization, then a re-run: same final state, nothing lost.

A real process runs the reorganization. The test hook PIANO_ASSETS_TESTING_STALL_COPY makes
its n-th copy stop halfway (half the bytes written to the temporary file) and say so; the
test then kills the process group with SIGKILL, checks the half-written file is there, re-runs
and compares the result with an uninterrupted reorganization of the same sample.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from piano_assets.layout import ModelRepoLayout
from piano_assets.reorganize import ops
from piano_assets.reorganize.assets import reorganize_assets
from piano_assets.reorganize.checks import reorganize_checks
from piano_assets.reorganize.transfer import TEST_STALL_ENV, is_transfer_temp
from piano_assets.reorganize.verify import account_for_inventory
from piano_assets.resources import ModelRepoResource

from .reorganize_helpers import final_state, make_repo

# Copies in order: 1-7 the crate, 8 the backup of main.rs before its rewrite (into the
# trash), 9-23 the data (9 = audio/mc-0001.wav, 64 KB), so these land in each kind of copy.
STALL_AT = (3, 8, 9, 17)

_DAGSTER_RUN = """
import sys
import dagster as dg
from piano_assets.reorganize.assets import reorganize_assets
from piano_assets.resources import ModelRepoResource
dg.materialize(
    reorganize_assets,
    instance=dg.DagsterInstance.ephemeral(),
    resources={"model_repo": ModelRepoResource(root=sys.argv[1], dry_run=False)},
)
"""


@pytest.fixture
def reference_state(reorganized_reference: dict[str, object]) -> dict[str, object]:
    return reorganized_reference


def _start(command: list[str], stall_at: int | None, signal_file: Path) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != TEST_STALL_ENV}
    if stall_at is not None:
        env[TEST_STALL_ENV] = f"{stall_at}:{signal_file}"
    # Output to a file: a full pipe nobody reads would block the child before it stalls.
    with open(signal_file.with_suffix(".log"), "ab") as log:
        return subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole
        )


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _wait_for(signal_file: Path, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not signal_file.exists():
        if process.poll() is not None:
            output = signal_file.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
            raise AssertionError(f"finished before stalling:\n{output[-3000:]}")
        if time.monotonic() > deadline:
            _kill(process)
            raise AssertionError("the copy never stalled")
        time.sleep(0.05)


def _cli(root: Path) -> list[str]:
    return [sys.executable, "-m", "piano_assets.reorganize", "apply", "--root", str(root)]


def _temps(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if is_transfer_temp(path)]


def _interrupted_runs(layout: ModelRepoLayout) -> Counter[str]:
    """Per step, how many of its runs started and never completed (killed inside it)."""
    runs: Counter[str] = Counter()
    for event in ops.load_journal(layout).events:
        if event.event == "started":
            runs[event.step] += 1
        elif event.event == "completed":
            runs[event.step] -= 1
    return +runs


def _assert_finished_like(layout: ModelRepoLayout, reference: dict[str, object]) -> None:
    assert final_state(layout.root) == reference
    assert _temps(layout.root) == []
    accounting = account_for_inventory(layout)
    assert accounting.missing == []
    assert accounting.before[0] == 31  # 22 under tools/, 4 + 3 stale, 2 plans


@pytest.mark.slow
@pytest.mark.parametrize("stall_at", STALL_AT)
def test_kill_9_in_the_middle_of_a_copy_then_rerun(
    tmp_path: Path, reference_state: dict[str, object], stall_at: int
) -> None:
    layout = make_repo(tmp_path)
    signal_file = tmp_path / "stalled"
    process = _start(_cli(layout.root), stall_at, signal_file)
    _wait_for(signal_file, process)
    _kill(process)
    half_written = _temps(layout.root)
    assert len(half_written) == 1, "the kill must land in the middle of a copy"
    assert half_written[0].stat().st_size > 0

    rerun = subprocess.run(_cli(layout.root), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    _assert_finished_like(layout, reference_state)


@pytest.mark.slow
def test_repeated_kill_9_at_any_moment_then_rerun(
    tmp_path: Path, reference_state: dict[str, object]
) -> None:
    layout = make_repo(tmp_path)
    for delay_s in (0.15, 0.2, 0.22, 0.24, 0.26, 0.28, 0.3, 0.35, 0.4, 0.6, 0.9):
        process = _start(_cli(layout.root), None, tmp_path / "unused")
        try:
            process.wait(timeout=delay_s)
        except subprocess.TimeoutExpired:
            _kill(process)
    interrupted = _interrupted_runs(layout)
    # Where timed kills land depends on the machine's load; the stall tests above pin a kill
    # inside a copy deterministically. This one asserts recovery from wherever they landed.
    print("runs killed inside a step:", dict(interrupted))
    rerun = subprocess.run(_cli(layout.root), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    _assert_finished_like(layout, reference_state)


@pytest.mark.slow
def test_kill_9_during_a_dagster_run_then_materialize_again(
    tmp_path: Path, reference_state: dict[str, object]
) -> None:
    layout = make_repo(tmp_path)
    signal_file = tmp_path / "stalled"
    command = [sys.executable, "-c", _DAGSTER_RUN, str(layout.root)]
    process = _start(command, 9, signal_file)  # halfway through the first audio file
    _wait_for(signal_file, process)
    _kill(process)
    assert len(_temps(layout.root)) == 1

    result = dg.materialize(
        [*reorganize_assets, *reorganize_checks],
        instance=dg.DagsterInstance.ephemeral(),
        resources={"model_repo": ModelRepoResource(root=str(layout.root), dry_run=False)},
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    assert not failed, [(e.asset_key, e.check_name, e.description) for e in failed]
    _assert_finished_like(layout, reference_state)
