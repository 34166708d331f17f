"""MuQ embedder: pretrained weights from a local cache or folder, else labelled random weights.

Dagster-free. Input: 24 kHz mono float32. Output per segment: `last_hidden_state`
[frames, dim] (25 frames per second), or a pooled vector.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

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


@dataclass(frozen=True)
class EmbedderConfig:
    mode: str = "auto"  # auto | pretrained | random
    weights: str = MUQ_PRETRAINED_ID  # Hugging Face id (local cache only) or a folder
    random_size: str = "tiny"  # tiny | full
    device: str = "auto"  # auto | cpu | cuda[:N]
    batch_size: int = 8
    pooling: str = "none"  # none | mean | mean_std


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


class Embedder:
    """One MuQ model on one device; `embed` batches equal-length segments."""

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        model_id: str,
        is_random: bool,
        revision: str,
        device: torch.device,
        batch_size: int,
        pooling: str,
        dim: int,
    ) -> None:
        if pooling not in {"none", "mean", "mean_std"}:
            raise EmbedderError(f"unknown pooling {pooling!r}; use none, mean or mean_std")
        self.model = model
        self.model_id = model_id
        self.is_random = is_random
        self.revision = revision
        self.device = device
        self.batch_size = batch_size
        self.pooling = pooling
        self.dim = dim
        self.frame_rate = FRAME_RATE
        self.dtype = torch.float16 if device.type == "cuda" else torch.float32

    @property
    def label(self) -> str:
        if self.is_random:
            return (
                f"RANDOM-WEIGHT MuQ ({self.model_id}, config {self.revision[:12]}) "
                "- NOT real embeddings"
            )
        return f"pretrained MuQ {self.model_id} (revision {self.revision[:12]})"

    def provenance(self) -> dict[str, str]:
        return {
            "model_id": self.model_id,
            "model_revision": self.revision,
            "random_weights": str(self.is_random).lower(),
            "embedder_label": self.label,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device_type": self.device.type,
            "pooling": self.pooling,
            "frame_rate": str(self.frame_rate),
            "dim": str(self.dim),
        }

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> torch.Tensor:
        wav = torch.from_numpy(batch).to(self.device, dtype=self.dtype)
        hidden = self.model(wav, output_hidden_states=False).last_hidden_state
        return hidden.float().cpu()

    def _pool(self, frames: torch.Tensor) -> torch.Tensor:
        if self.pooling == "mean":
            return frames.mean(dim=0)
        if self.pooling == "mean_std":
            return torch.cat([frames.mean(dim=0), frames.std(dim=0, unbiased=False)])
        return frames

    def embed(self, waves: list[np.ndarray]) -> list[torch.Tensor]:
        """Embed segments (any lengths); returns one tensor per wave, in order."""
        by_length: dict[int, list[int]] = defaultdict(list)
        for position, wave in enumerate(waves):
            by_length[len(wave)].append(position)
        results: list[torch.Tensor | None] = [None] * len(waves)
        for positions in by_length.values():
            for start in range(0, len(positions), self.batch_size):
                chunk = positions[start : start + self.batch_size]
                hidden = self._forward(np.stack([waves[p] for p in chunk]).astype(np.float32))
                for row, position in enumerate(chunk):
                    results[position] = self._pool(hidden[row]).contiguous()
        return [tensor for tensor in results if tensor is not None]


def build_embedder(config: EmbedderConfig) -> Embedder:
    from muq import MuQ, MuQConfig

    if config.mode not in {"auto", "pretrained", "random"}:
        raise EmbedderError(f"unknown MuQ mode {config.mode!r}; use auto, pretrained or random")
    device = _pick_device(config.device)
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
    if device.type == "cuda":
        model = model.half()
    return Embedder(
        model,
        model_id=model_id,
        is_random=is_random,
        revision=revision,
        device=device,
        batch_size=config.batch_size,
        pooling=config.pooling,
        dim=dim,
    )
