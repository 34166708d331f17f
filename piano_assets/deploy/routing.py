"""Where each per-recording step runs: op tags for the configured executor, and its pool.

A tier's per-recording work is two steps: "audio" (download, convert, segment: CPU and
network) and "muq" (MuQ embeddings: a GPU when there is one). The tier factory tags them with
`step_tags(kind)` and gives them `pool=step_pool(kind, ...)`; the executor chosen by
`PIANO_ASSETS_EXECUTOR` reads the tags:

* celery: `dagster-celery/queue` sends audio steps to `PIANO_ASSETS_CELERY_AUDIO_QUEUE`
  (default `audio`) and MuQ steps to `PIANO_ASSETS_CELERY_MUQ_QUEUE` (default `gpu`);
* k8s: `dagster-k8s/config` puts MuQ steps on GPU nodes (node selector, toleration of the GPU
  taint, `nvidia.com/gpu` limit); audio steps go anywhere;
* multiprocess: nothing to route.

Pools are Dagster's global concurrency limits, shared by every run and worker: `muq` (default 1
at a time), `youtube_downloads` (download steps at once; `youtube_download_interval_s` gives the
pause between downloads that holds a deployment to YouTube's rate, to set as
PIANO_ASSETS_YTDLP_SLEEP_INTERVAL_S), and `audio` for audio steps that download nothing.
"""

from __future__ import annotations

import json
from typing import Literal, get_args

from piano_assets.scale_settings import ExecutorKind
from piano_assets.settings import PianoAssetsSettings

StepKind = Literal["audio", "muq"]
AudioSource = Literal["youtube", "local"]

STEP_KIND_TAG = "piano_assets/step_kind"
CELERY_QUEUE_TAG = "dagster-celery/queue"  # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG
K8S_CONFIG_TAG = "dagster-k8s/config"  # dagster_k8s.job.USER_DEFINED_K8S_CONFIG_KEY

MUQ_POOL = "muq"
YOUTUBE_DOWNLOADS_POOL = "youtube_downloads"
AUDIO_POOL = "audio"


def _check_kind(kind: str) -> StepKind:
    if kind not in get_args(StepKind):
        raise ValueError(f"step kind {kind!r} is not one of {get_args(StepKind)}")
    return kind  # type: ignore[return-value]


def _settings(settings: PianoAssetsSettings | None) -> PianoAssetsSettings:
    if settings is not None:
        return settings
    from piano_assets.deploy.config import deploy_settings

    return deploy_settings()


def celery_queue(kind: StepKind, settings: PianoAssetsSettings | None = None) -> str:
    resolved = _settings(settings)
    return resolved.celery_muq_queue if _check_kind(kind) == "muq" else resolved.celery_audio_queue


def k8s_step_config(
    kind: StepKind, settings: PianoAssetsSettings | None = None
) -> dict[str, object]:
    """The `dagster-k8s/config` of a step: MuQ steps ask for GPUs on GPU nodes."""
    resolved = _settings(settings)
    if _check_kind(kind) != "muq":
        return {}
    label, _, value = resolved.k8s_gpu_node_selector.partition("=")
    gpus = str(resolved.k8s_gpus_per_muq_step)
    pod_spec: dict[str, object] = {
        "tolerations": [
            {"key": resolved.k8s_gpu_toleration_key, "operator": "Exists", "effect": "NoSchedule"}
        ]
    }
    if label:
        pod_spec["node_selector"] = {label: value or "true"}
    return {
        "container_config": {
            "resources": {"limits": {"nvidia.com/gpu": gpus}, "requests": {"nvidia.com/gpu": gpus}}
        },
        "pod_spec_config": pod_spec,
    }


def step_tags(kind: StepKind, settings: PianoAssetsSettings | None = None) -> dict[str, str]:
    """Op tags of a per-recording step of `kind` for the configured executor."""
    resolved = _settings(settings)
    tags: dict[str, str] = {STEP_KIND_TAG: _check_kind(kind)}
    if resolved.executor == ExecutorKind.CELERY:
        tags[CELERY_QUEUE_TAG] = celery_queue(kind, resolved)
    elif resolved.executor == ExecutorKind.K8S:
        config = k8s_step_config(kind, resolved)
        if config:
            tags[K8S_CONFIG_TAG] = json.dumps(config, sort_keys=True)
    return tags


def step_pool(kind: StepKind, *, source: AudioSource = "youtube") -> str:
    """The concurrency pool of a step: `muq`, `youtube_downloads`, or `audio` (no download)."""
    if _check_kind(kind) == "muq":
        return MUQ_POOL
    if source not in get_args(AudioSource):
        raise ValueError(f"audio source {source!r} is not one of {get_args(AudioSource)}")
    return YOUTUBE_DOWNLOADS_POOL if source == "youtube" else AUDIO_POOL


def pool_limits(settings: PianoAssetsSettings | None = None) -> dict[str, int]:
    """The limit of each pool the steps use (set on the instance by `apply_pool_limits`)."""
    resolved = _settings(settings)
    return {
        MUQ_POOL: resolved.muq_pool_limit,
        YOUTUBE_DOWNLOADS_POOL: resolved.youtube_download_slots,
        AUDIO_POOL: resolved.audio_pool_limit,
    }


def youtube_download_interval_s(settings: PianoAssetsSettings | None = None) -> float:
    """Pause between two downloads of one step so that all slots together stay within the rate.

    `youtube_download_slots` steps download at once (the pool's limit), each pausing this long
    between videos: slots x 3600 / interval = `youtube_downloads_per_hour`.
    """
    resolved = _settings(settings)
    return resolved.youtube_download_slots * 3600.0 / resolved.youtube_downloads_per_hour
