"""MuQ embedder: pretrained weights from a local cache or folder, else labelled random weights.

Dagster-free. Input: 24 kHz mono float32. Output per segment: `last_hidden_state`
[frames, dim] (25 frames per second), or a pooled vector.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from piano_assets.engine.store import STORE_DTYPE

log = logging.getLogger(__name__)

MUQ_PRETRAINED_ID = "OpenMuQ/MuQ-large-msd-iter"
FRAME_RATE = 25
# Mel statistics of MuQ's own training data (used when building a model without weights).
_STAT = {"melspec_2048_mean": 6.768444971712967, "melspec_2048_std": 18.417922652295623}
_SIZES = {
    "tiny": {"hidden": 64, "layers": 2, "heads": 2, "ffn": 128, "conv": 64},
    "full": {"hidden": 1024, "layers": 12, "heads": 16, "ffn": 4096, "conv": 512},
}


class EmbedderError(RuntimeError):
    pass


# On a CPU a batch of one is fastest (benchmarks/README.md: a batch of 8 ran slower).
CPU_AUTO_BATCH_SIZE = 1
# On CUDA "auto" fills this share of the free memory, up to this many segments a batch: past a
# few dozen 30 s segments a batch, MuQ-large's matrix products are already saturated.
AUTO_MEMORY_FRACTION = 0.7
AUTO_BATCH_CAP = 64
COMPUTE_DTYPES = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


@dataclass(frozen=True)
class EmbedderConfig:
    mode: str = "auto"  # auto | pretrained | random
    weights: str = MUQ_PRETRAINED_ID  # Hugging Face id (local cache only) or a folder
    random_size: str = "tiny"  # tiny | full
    device: str = "auto"  # auto | cpu | cuda[:N]
    # A positive number, or "auto": 1 on a CPU, what fits the GPU's free memory on CUDA.
    batch_size: int | str = "auto"
    pooling: str = "none"  # none | mean | mean_std
    # Autocast dtype on CUDA: auto (bfloat16 where supported, else float16) | bfloat16 |
    # float16 (the original script's choice) | float32. A CPU always computes in float32.
    compute_dtype: str = "auto"


def resolve_compute_dtype(device: torch.device, requested: str) -> torch.dtype:
    """The dtype the model computes in: `requested` on CUDA, always float32 on a CPU."""
    if requested != "auto" and requested not in COMPUTE_DTYPES:
        raise EmbedderError(
            f"unknown compute dtype {requested!r}; use auto, {', '.join(COMPUTE_DTYPES)}"
        )
    if device.type != "cuda":
        return torch.float32  # deterministic, and CPU half precision is slow
    if requested == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return COMPUTE_DTYPES[requested]


def parse_batch_size(value: int | float | str) -> int | None:
    """A fixed batch size, or None for "auto"; a clear error for anything else."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if size < 1 or (isinstance(value, float) and not value.is_integer()):
        raise EmbedderError(f"invalid MuQ batch size {value!r}: use a positive number or 'auto'")
    return size


def random_muq_config(size: str) -> dict[str, Any]:
    """A MuQConfig dict with the real architecture at `size` (tiny for tests, full = MuQ-large)."""
    from transformers import Wav2Vec2ConformerConfig

    if size not in _SIZES:
        raise EmbedderError(f"unknown random MuQ size {size!r}; use one of {sorted(_SIZES)}")
    s = _SIZES[size]
    w2v2 = Wav2Vec2ConformerConfig(
        hidden_size=s["hidden"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        intermediate_size=s["ffn"],
        conv_dim=(s["conv"],) * 7,
    ).to_dict()
    # Integer keys of these maps break MuQ's EasyDict.
    w2v2.pop("id2label", None)
    w2v2.pop("label2id", None)
    return {
        "encoder_dim": s["hidden"],
        "encoder_depth": s["layers"],
        "conv_dim": s["conv"],
        "stat": dict(_STAT),
        "w2v2_config": w2v2,
        "is_flash": False,
    }


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EmbedderError(f"device {requested!r} requested but CUDA is not available")
    return device


def _local_weights(weights: str) -> str | None:
    """A local folder or a cached Hugging Face id, or None. Never touches the network."""
    folder = Path(weights).expanduser()
    if folder.is_dir() and (folder / "config.json").exists():
        return str(folder)
    looks_like_path = weights.startswith(("/", ".", "~")) or weights.count("/") != 1
    if looks_like_path or folder.exists():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(weights, "config.json")
    except (ImportError, ValueError):  # not a valid Hugging Face id
        return None
    return weights if isinstance(cached, str) else None


class BatchResult:
    """The outputs of one submitted batch; `result()` waits for the device when it must."""

    def __init__(self, outputs: torch.Tensor, ready: torch.cuda.Event | None = None) -> None:
        self._outputs = outputs
        self._ready = ready

    def result(self) -> list[torch.Tensor]:
        if self._ready is not None:
            self._ready.synchronize()
            self._ready = None
        return list(self._outputs.unbind(0))


class Embedder:
    """One MuQ model on one device; `embed` batches equal-length segments.

    On CUDA the model keeps float32 weights and runs under autocast (`compute_dtype`); inputs
    are staged in pinned memory and copied without blocking, and `submit` returns before the
    device finishes, so the caller can prepare the next batch meanwhile. On a CPU everything is
    float32 and synchronous, hence deterministic.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        model_id: str,
        is_random: bool,
        revision: str,
        device: torch.device,
        batch_size: int | str,
        pooling: str,
        dim: int,
        compute_dtype: torch.dtype = torch.float32,
    ) -> None:
        if pooling not in {"none", "mean", "mean_std"}:
            raise EmbedderError(f"unknown pooling {pooling!r}; use none, mean or mean_std")
        self.model = model
        self.model_id = model_id
        self.is_random = is_random
        self.revision = revision
        self.device = device
        self.pooling = pooling
        self.dim = dim
        self.frame_rate = FRAME_RATE
        self.dtype = torch.float32  # what the model is fed (and holds its weights in)
        self.compute_dtype = compute_dtype if device.type == "cuda" else torch.float32
        self._fixed_batch_size = parse_batch_size(batch_size)
        self._auto_batch_sizes: dict[int, int] = {}

    @property
    def label(self) -> str:
        if self.is_random:
            return (
                f"RANDOM-WEIGHT MuQ ({self.model_id}, config {self.revision[:12]}) "
                "- NOT real embeddings"
            )
        return f"pretrained MuQ {self.model_id} (revision {self.revision[:12]})"

    @property
    def batch_size(self) -> int:
        """The batch size for 30 s segments (see `batch_size_for`)."""
        return self.batch_size_for(30 * 24_000)

    def batch_size_for(self, window_samples: int) -> int:
        """The configured batch size, or for "auto" what fits windows of `window_samples`."""
        if self._fixed_batch_size is not None:
            return self._fixed_batch_size
        if self.device.type != "cuda":
            return CPU_AUTO_BATCH_SIZE
        if window_samples not in self._auto_batch_sizes:
            self._auto_batch_sizes[window_samples] = self._probe_batch_size(window_samples)
            log.info(
                "MuQ auto batch size on %s: %d segments of %.1f s",
                self.device,
                self._auto_batch_sizes[window_samples],
                window_samples / 24_000,
            )
        return self._auto_batch_sizes[window_samples]

    def provenance(self) -> dict[str, str]:
        return {
            "model_id": self.model_id,
            "model_revision": self.revision,
            "random_weights": str(self.is_random).lower(),
            "embedder_label": self.label,
            "dtype": str(STORE_DTYPE).removeprefix("torch."),  # what the stored tensors hold
            "compute_dtype": str(self.compute_dtype).removeprefix("torch."),
            "device_type": self.device.type,
            "pooling": self.pooling,
            "frame_rate": str(self.frame_rate),
            "dim": str(self.dim),
        }

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.device.type == "cuda" and self.compute_dtype != torch.float32:
            return torch.autocast("cuda", dtype=self.compute_dtype)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def _forward_on_device(self, batch: torch.Tensor, out_dtype: torch.dtype) -> torch.Tensor:
        """[B, samples] on the device → pooled outputs [B, ...] in `out_dtype`, on the device."""
        with self._autocast():
            hidden = self.model(batch, output_hidden_states=False).last_hidden_state
        if self.pooling == "none":
            return hidden.to(out_dtype)  # one cast: the same numbers as through float32
        return self._pool(hidden.float()).to(out_dtype)

    def _pool(self, frames: torch.Tensor) -> torch.Tensor:
        """Pool [B, frames, dim] over frames (or keep them)."""
        if self.pooling == "mean":
            return frames.mean(dim=1)
        if self.pooling == "mean_std":
            return torch.cat([frames.mean(dim=1), frames.std(dim=1, unbiased=False)], dim=1)
        return frames

    def _stage(self, waves: Sequence[np.ndarray]) -> torch.Tensor:
        """The batch as a float32 tensor on the device (through pinned memory on CUDA)."""
        if self.device.type != "cuda":
            single = np.asarray(waves[0], dtype=np.float32)
            if len(waves) == 1 and single.flags.writeable:  # no copy
                return torch.from_numpy(single[None, :])
            return torch.from_numpy(np.stack(waves).astype(np.float32, copy=False))
        staging = torch.empty((len(waves), len(waves[0])), dtype=torch.float32, pin_memory=True)
        rows = staging.numpy()  # numpy copies into the pinned block without holding the GIL
        for row, wave in enumerate(waves):
            rows[row] = wave
        return staging.to(self.device, non_blocking=True)

    def submit(
        self, waves: Sequence[np.ndarray], out_dtype: torch.dtype = torch.float32
    ) -> BatchResult:
        """Start embedding equal-length waves as one batch; `.result()` gives one tensor each.

        On CUDA this returns once the work is queued. A batch that runs out of GPU memory is
        split in halves (and "auto" sizes shrink for later batches).
        """
        if len({len(wave) for wave in waves}) > 1:
            raise EmbedderError("one batch needs equal-length waves")
        if self.device.type != "cuda":
            return BatchResult(self._forward_on_device(self._stage(waves), out_dtype))
        try:
            on_device = self._forward_on_device(self._stage(waves), out_dtype)
        except torch.cuda.OutOfMemoryError:
            if len(waves) == 1:
                raise
            torch.cuda.empty_cache()
            half = len(waves) // 2
            self._shrink_auto(len(waves[0]), half)
            parts = [self.submit(part, out_dtype).result() for part in (waves[:half], waves[half:])]
            return BatchResult(torch.stack([tensor for part in parts for tensor in part]))
        outputs = on_device.to("cpu", non_blocking=True)  # lands in pinned memory
        ready = torch.cuda.Event()
        ready.record(torch.cuda.current_stream(self.device))  # this device's, not the current
        return BatchResult(outputs, ready)

    def _shrink_auto(self, window_samples: int, size: int) -> None:
        if self._fixed_batch_size is None and window_samples in self._auto_batch_sizes:
            self._auto_batch_sizes[window_samples] = min(
                self._auto_batch_sizes[window_samples], max(1, size)
            )

    def _probe_batch_size(self, window_samples: int) -> int:
        """Measure the memory of batches of 1 and 4 windows; the largest batch that fits."""
        device = self.device
        generator = torch.Generator(device=device).manual_seed(0)

        def peak_bytes(size: int) -> int:
            batch = torch.randn(size, window_samples, device=device, generator=generator) * 0.1
            torch.cuda.synchronize(device)
            base = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            self._forward_on_device(batch, torch.float16)
            torch.cuda.synchronize(device)
            return torch.cuda.max_memory_allocated(device) - base

        torch.cuda.empty_cache()
        one = peak_bytes(1)
        per_segment = max((peak_bytes(4) - one) / 3, 1.0)
        torch.cuda.empty_cache()
        free, _total = torch.cuda.mem_get_info(device)
        fits = int((free * AUTO_MEMORY_FRACTION - one) / per_segment) + 1
        size = max(1, min(AUTO_BATCH_CAP, fits))
        while size > 1:
            try:
                peak_bytes(size)
                break
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                size //= 2
        torch.cuda.empty_cache()
        return size

    def embed(self, waves: list[np.ndarray]) -> list[torch.Tensor]:
        """Embed segments (any lengths) as float32; one tensor per wave, in order."""
        by_length: dict[int, list[int]] = defaultdict(list)
        for position, wave in enumerate(waves):
            by_length[len(wave)].append(position)
        results: list[torch.Tensor | None] = [None] * len(waves)
        for length, positions in by_length.items():
            size = self.batch_size_for(length)
            for start in range(0, len(positions), size):
                chunk = positions[start : start + size]
                outputs = self.submit([waves[p] for p in chunk]).result()
                for position, tensor in zip(chunk, outputs, strict=True):
                    results[position] = tensor
        return [tensor for tensor in results if tensor is not None]


def build_embedder(config: EmbedderConfig) -> Embedder:
    from muq import MuQ, MuQConfig

    if config.mode not in {"auto", "pretrained", "random"}:
        raise EmbedderError(f"unknown MuQ mode {config.mode!r}; use auto, pretrained or random")
    device = _pick_device(config.device)
    compute_dtype = resolve_compute_dtype(device, config.compute_dtype)
    parse_batch_size(config.batch_size)  # fail before building the model
    local = None if config.mode == "random" else _local_weights(config.weights)
    if config.mode == "pretrained" and local is None:
        raise EmbedderError(
            f"MuQ weights {config.weights!r} are not available locally (no folder with "
            "config.json, not in the Hugging Face cache). Download them on a machine with "
            "internet, point PIANO_ASSETS_MUQ_WEIGHTS at them, or use PIANO_ASSETS_MUQ_MODE=auto."
        )
    # MuQ's constructor reseeds the global RNGs; keep the caller's random state intact.
    with torch.random.fork_rng(devices=[]):
        if local is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            model = MuQ.from_pretrained(local, local_files_only=True)
            revision = config_hash({"weights": local})
            model_id, is_random = config.weights, False
            dim = int(model.config.encoder_dim)
        else:
            if config.mode == "auto":
                log.warning(
                    "MuQ weights %s not found locally: using RANDOM weights (%s); "
                    "embeddings are labelled as such and are not real",
                    config.weights,
                    config.random_size,
                )
            muq_config = random_muq_config(config.random_size)
            model = MuQ(MuQConfig(**muq_config))
            revision = config_hash(muq_config)
            model_id, is_random = f"random-muq-{config.random_size}", True
            dim = int(muq_config["encoder_dim"])
    model = model.to(device).eval()
    return Embedder(
        model,
        model_id=model_id,
        is_random=is_random,
        revision=revision,
        device=device,
        batch_size=config.batch_size,
        pooling=config.pooling,
        dim=dim,
        compute_dtype=compute_dtype,
    )
