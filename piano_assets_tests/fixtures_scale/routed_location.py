"""A small code location routed like the tiers, for the Celery tests and benchmarks.

Two per-recording assets over one dynamic partitions definition, each a routable step:

* `scale_audio` — tagged `step_tags("audio")` (Celery queue `audio`), pool `youtube_downloads`;
* `scale_embeddings` — depends on it, tagged `step_tags("muq")` (queue `gpu`), pool `muq`.

Both carry `BackfillPolicy.multi_run(PIANO_SCALE_RUN_SIZE)` and read `context.partition_keys`.
The work is trivial (a line per recording, written atomically under `PIANO_SCALE_OUTPUT_DIR`),
so the tests measure routing and orchestration. The executor comes from the settings
(`executor_from_settings`), as the real code location's will.

A test can hold the audio step of a recording: while `<out>/holds/<key>` exists, the step writes
`<out>/started/<key>` (its pid) and a partial `.tmp-` file, then waits, so it can be killed there.

Beside them, the real tier factory: the test tier of `piano_assets_tests/toy_tier` (generated
audio, tiny random-weight MuQ), whose two per-recording steps the factory tags and pools with
`piano_assets.deploy.routing` exactly as it does for T2, T3 and T4, with the platform's own
resources (the model repo from `PIANO_ASSETS_ROOT`).
"""

import os
import socket
import time
from pathlib import Path

import dagster as dg

from piano_assets.deploy.executor import executor_from_settings
from piano_assets.deploy.files import write_text_atomically
from piano_assets.deploy.routing import step_pool, step_tags
from piano_assets.resources import default_resources
from piano_assets_tests.toy_tier import defs as toy_tier

SCALE_RECORDINGS = dg.DynamicPartitionsDefinition(name="scale_recordings")
RUN_SIZE = int(os.environ.get("PIANO_SCALE_RUN_SIZE", "4"))
HOLD_LIMIT_S = 300.0


def output_dir() -> Path:
    return Path(os.environ.get("PIANO_SCALE_OUTPUT_DIR", "/tmp/piano_scale_out"))


def _hold_if_asked(key: str, partial: Path) -> None:
    hold = output_dir() / "holds" / key
    if not hold.exists():
        return
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("half a recording")  # what a killed step leaves behind
    started = output_dir() / "started" / key
    started.parent.mkdir(parents=True, exist_ok=True)
    started.write_text(str(os.getpid()))
    deadline = time.monotonic() + HOLD_LIMIT_S
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


@dg.asset(
    partitions_def=SCALE_RECORDINGS,
    backfill_policy=dg.BackfillPolicy.multi_run(RUN_SIZE),
    op_tags=step_tags("audio"),
    pool=step_pool("audio"),
    group_name="scale",
)
def scale_audio(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    keys = list(context.partition_keys)
    for key in keys:
        target = output_dir() / "audio" / f"{key}.txt"
        _hold_if_asked(key, target.with_name(f".tmp-{target.name}.partial"))
        write_text_atomically(target, f"{key} {socket.gethostname()} {os.getpid()}\n")
    context.log.info(f"audio of {len(keys)} recordings in pid {os.getpid()}")
    return dg.MaterializeResult(metadata={"recordings": len(keys), "pid": os.getpid()})


@dg.asset(
    partitions_def=SCALE_RECORDINGS,
    backfill_policy=dg.BackfillPolicy.multi_run(RUN_SIZE),
    deps=[scale_audio],
    op_tags=step_tags("muq"),
    pool=step_pool("muq"),
    group_name="scale",
)
def scale_embeddings(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    keys = list(context.partition_keys)
    for key in keys:
        audio = output_dir() / "audio" / f"{key}.txt"
        if not audio.exists():
            raise dg.Failure(f"{key}: no audio at {audio}")
        write_text_atomically(
            output_dir() / "embeddings" / f"{key}.txt", f"embedding of {audio.read_text()}"
        )
    return dg.MaterializeResult(metadata={"recordings": len(keys), "pid": os.getpid()})


defs = dg.Definitions.merge(
    dg.Definitions(assets=[scale_audio, scale_embeddings]),
    toy_tier.defs,
    dg.Definitions(resources=default_resources(), executor=executor_from_settings()),
)
