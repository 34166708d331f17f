"""Issue #13: direct WAV reads, decode workers, given segment tables, transforms, output keys.

Every input is generated (the synth, ffmpeg lavfi). Short windows (5 s) keep the tiny model fast.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from piano_assets.engine import (
    SAMPLE_RATE,
    AudioDecodeError,
    Embedder,
    EmbedderConfig,
    EmbedderError,
    EngineConfig,
    RecordingAudio,
    Segment,
    SegmentPolicy,
    build_embedder,
    convert_to_wav,
    direct_wav,
    embed_recordings,
    load_recording_embeddings,
    plan_segments,
    read_provenance,
    stream_audio,
)
from piano_assets.engine import audio as audio_module
from piano_assets.engine.embed import parse_batch_size, resolve_compute_dtype
from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.prefetch import HEAD_DEPTH, ordered_prefetch
from piano_assets.sample.synth import piano_notes, write_piano_wav

POLICY = SegmentPolicy(segment_seconds=5.0, min_tail_seconds=1.0)
SEQUENTIAL = EngineConfig(decode_workers=0, background_writes=False)


@pytest.fixture(scope="module")
def tiny() -> Embedder:
    return build_embedder(EmbedderConfig(mode="random", random_size="tiny", batch_size=4))


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True)


def _all(path: Path, direct: bool) -> np.ndarray:
    return np.concatenate(list(stream_audio(path, block_seconds=7.0, direct=direct)))


def _no_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> Iterator[bytes]:
        raise AssertionError("ffmpeg was started for a file the engine reads directly")

    monkeypatch.setattr(audio_module, "_pcm_blocks", refuse)


def _extensible_wav(path: Path, samples: np.ndarray) -> Path:
    """16-bit mono WAVE_FORMAT_EXTENSIBLE, as some tools write even for mono."""
    data = (samples * 32767).astype("<i2").tobytes()
    guid = struct.pack("<I", 1) + bytes.fromhex("00001000800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16, 22, 16, 4)
    fmt += guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 4) + b"INFO"  # a chunk to skip before the data
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


# --- the direct WAV path ----------------------------------------------------------------------


def test_direct_read_equals_ffmpeg_for_the_formats_audio_steps_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_piano_wav(tmp_path / "src.wav", 9.3, sample_rate=44_100, channels=2, seed=1)
    s16 = tmp_path / "s16.wav"
    convert_to_wav(source, s16)  # what the tiers' audio steps write
    f32 = tmp_path / "f32.wav"
    _ffmpeg("-i", str(source), "-ar", "24000", "-ac", "1", "-c:a", "pcm_f32le", str(f32))
    ext = _extensible_wav(tmp_path / "ext.wav", piano_notes(4.1, seed=2))
    by_ffmpeg = {path: _all(path, direct=False) for path in (s16, f32, ext)}
    _no_ffmpeg(monkeypatch)
    for path, expected in by_ffmpeg.items():
        assert direct_wav(path) is not None, path.name
        got = _all(path, direct=True)
        assert got.dtype == np.float32 and np.array_equal(got, expected), path.name


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("rate.wav", ["-ar", "44100", "-ac", "1"]),
        ("stereo.wav", ["-ar", "24000", "-ac", "2"]),
        ("s24.wav", ["-ar", "24000", "-ac", "1", "-c:a", "pcm_s24le"]),
        ("clip.flac", ["-ar", "24000", "-ac", "1"]),
    ],
)
def test_other_formats_still_go_through_ffmpeg(tmp_path: Path, name: str, args: list[str]) -> None:
    source = write_piano_wav(tmp_path / "src.wav", 2.0, seed=3)
    target = tmp_path / name
    _ffmpeg("-i", str(source), *args, str(target))
    assert direct_wav(target) is None
    assert abs(len(_all(target, direct=True)) / SAMPLE_RATE - 2.0) < 0.01


def test_truncated_wav_fails_naming_the_file(tmp_path: Path) -> None:
    whole = write_piano_wav(tmp_path / "whole.wav", 6.0, seed=4)
    cut = tmp_path / "cut-take.wav"
    cut.write_bytes(whole.read_bytes()[: 44 + 2 * SAMPLE_RATE * 2])  # header says 6 s, 2 s left
    with pytest.raises(AudioDecodeError, match=r"cut-take\.wav: truncated WAV"):
        list(stream_audio(cut))


def test_engine_files_are_byte_identical_with_and_without_ffmpeg(
    tmp_path: Path, tiny: Embedder
) -> None:
    clip = write_piano_wav(tmp_path / "clip.wav", 12.5, seed=5)
    records = [RecordingAudio("clip", clip)]
    direct = embed_recordings(records, tiny, tmp_path / "direct", POLICY, config=SEQUENTIAL)
    via_ffmpeg = EngineConfig(decode_workers=0, direct_wav=False)
    ffmpeg = embed_recordings(records, tiny, tmp_path / "ffmpeg", POLICY, config=via_ffmpeg)
    assert direct[0].ok and ffmpeg[0].ok and direct[0].n_segments == 3
    assert direct[0].path.read_bytes() == ffmpeg[0].path.read_bytes()


# --- decode workers: same bytes, failures isolated, memory bounded ------------------------------


def _mixed_batch(tmp_path: Path) -> list[RecordingAudio]:
    silent = tmp_path / "silent.flac"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "6", str(silent))
    flac = tmp_path / "flac-take.flac"
    _ffmpeg("-i", str(write_piano_wav(tmp_path / "f.wav", 11.0, seed=6)), str(flac))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\xff" * 300)
    return [
        RecordingAudio("a", write_piano_wav(tmp_path / "a.wav", 11.0, seed=7)),
        RecordingAudio("broken", broken),
        RecordingAudio("flac", flac),
        RecordingAudio("silent", silent),
        RecordingAudio("b", write_piano_wav(tmp_path / "b.wav", 9.0, sample_rate=48_000, seed=8)),
        RecordingAudio("tail", write_piano_wav(tmp_path / "t.wav", 5.5, seed=9)),  # 0.5 s dropped
        RecordingAudio("c", write_piano_wav(tmp_path / "c.wav", 14.0, seed=10)),
    ]


def test_workers_give_byte_identical_files_to_the_sequential_path(
    tmp_path: Path, tiny: Embedder
) -> None:
    recordings = _mixed_batch(tmp_path)
    configs = {
        "sequential": SEQUENTIAL,
        "two": EngineConfig(decode_workers=2),
        "three-tight": EngineConfig(decode_workers=3, prefetch_segments=1),
    }
    results = {
        name: embed_recordings(recordings, tiny, tmp_path / name, POLICY, config=config)
        for name, config in configs.items()
    }
    expected = [(o.recording_id, o.ok, o.n_segments) for o in results["sequential"]]
    assert expected == [
        ("a", True, 3),
        ("broken", False, 0),
        ("flac", True, 3),
        ("silent", False, 0),
        ("b", True, 2),
        ("tail", True, 1),
        ("c", True, 3),
    ]
    assert "broken.wav" in (results["sequential"][1].error or "")
    assert "silent.flac" in (results["sequential"][3].error or "")
    for name in ("two", "three-tight"):
        outcomes = results[name]
        assert [(o.recording_id, o.ok, o.n_segments) for o in outcomes] == expected
        assert [o.error for o in outcomes] == [o.error for o in results["sequential"]]
        names = sorted(p.name for p in (tmp_path / name).iterdir())
        assert names == sorted(p.name for p in (tmp_path / "sequential").iterdir())
        for file in names:
            assert (tmp_path / name / file).read_bytes() == (
                tmp_path / "sequential" / file
            ).read_bytes(), f"{name}/{file}"
    # A re-run with workers skips what is finished and retries only the failures.
    again = embed_recordings(recordings, tiny, tmp_path / "two", POLICY, config=configs["two"])
    assert [o.skipped_existing for o in again] == [o.ok for o in results["sequential"]]


def test_prefetch_keeps_source_order_and_its_budget() -> None:
    budget = 3
    live = 0
    high_water = 0
    lock = threading.Lock()
    rng = np.random.default_rng(0)
    delays = rng.uniform(0, 0.003, size=(6, 12))

    def source(number: int) -> Iterator[tuple[int, int]]:
        nonlocal live, high_water
        for index in range(12):
            time.sleep(delays[number, index])
            with lock:
                live += 1
                high_water = max(high_water, live)
            yield number, index

    received = []
    for item in ordered_prefetch([lambda n=n: source(n) for n in range(6)], 4, budget):
        with lock:
            live -= 1
        received.append(item)
        time.sleep(0.001)  # a slow consumer: the workers run ahead until the budget stops them
    assert received == [(n, i) for n in range(6) for i in range(12)]
    # Produced but not yet consumed: the budget, plus what the head source may always add,
    # plus one item per worker between producing it and waiting for room.
    assert high_water <= budget + HEAD_DEPTH + 4


def test_prefetch_raises_a_source_error_in_its_place_and_closes_sources() -> None:
    closed: list[int] = []

    def good(number: int) -> Iterator[int]:
        try:
            yield from range(number * 10, number * 10 + 3)
        finally:
            closed.append(number)

    def bad() -> Iterator[int]:
        yield 99
        raise RuntimeError("source 1 broke")

    sources = [lambda: good(0), bad, lambda: good(2), lambda: good(3)]
    received: list[int] = []
    with pytest.raises(RuntimeError, match="source 1 broke"):
        received.extend(ordered_prefetch(sources, 2, 2))
    assert received == [0, 1, 2, 99]
    # Stopping early closes the sources that were running.
    stream = ordered_prefetch([lambda n=n: good(n) for n in range(5)], 2, 1)
    assert next(stream) == 0
    stream.close()
    assert 0 in closed


# --- given segment tables ---------------------------------------------------------------------


def _frames(path: Path) -> list[torch.Tensor]:
    return load_recording_embeddings(path).frames


@pytest.mark.parametrize("encoding", ["wav", "flac"])  # the direct path and ffmpeg's
def test_given_segment_table_is_embedded_exactly(
    tmp_path: Path, tiny: Embedder, encoding: str
) -> None:
    wav = write_piano_wav(tmp_path / "take.wav", 26.0, seed=11)
    take = wav
    if encoding == "flac":
        take = tmp_path / "take.flac"
        _ffmpeg("-i", str(wav), str(take))
    table = [  # overlapping and gapped windows: nothing the policy would plan
        Segment(segment_id="take_w0", recording_id="take", index=0, start_s=0.0, end_s=4.0),
        Segment(segment_id="take_w1", recording_id="take", index=1, start_s=2.0, end_s=6.0),
        Segment(segment_id="take_w2", recording_id="take", index=2, start_s=20.5, end_s=24.5),
    ]
    (outcome,) = embed_recordings(
        [RecordingAudio("take", take, segments=table)], tiny, tmp_path / "emb", POLICY
    )
    assert outcome.ok and outcome.n_segments == 3
    stored = load_recording_embeddings(outcome.path)
    assert stored.segments == table
    assert "segment_table_sha256" in stored.provenance
    audio = _all(wav, direct=True)
    windows = [audio[round(s.start_s * SAMPLE_RATE) : round(s.end_s * SAMPLE_RATE)] for s in table]
    expected = tiny.embed(windows)
    for got, want in zip(stored.frames, expected, strict=True):
        assert torch.equal(got, want.half())


def test_table_from_the_policy_gives_the_policy_tensors(tmp_path: Path, tiny: Embedder) -> None:
    clip = write_piano_wav(tmp_path / "clip.wav", 13.0, seed=12)
    table = plan_segments("clip", 13.0, POLICY)
    planned = embed_recordings([RecordingAudio("clip", clip)], tiny, tmp_path / "p", POLICY)
    given = embed_recordings(
        [RecordingAudio("clip", clip, segments=table)], tiny, tmp_path / "g", POLICY
    )
    assert load_recording_embeddings(given[0].path).segments == table
    for a, b in zip(_frames(planned[0].path), _frames(given[0].path), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("encoding", ["wav", "flac"])
def test_a_table_that_does_not_fit_fails_that_recording(
    tmp_path: Path, tiny: Embedder, encoding: str
) -> None:
    wav = write_piano_wav(tmp_path / "short-take.wav", 8.0, seed=13)
    take = wav
    if encoding == "flac":
        take = tmp_path / "short-take.flac"
        _ffmpeg("-i", str(wav), str(take))
    too_long = plan_segments("short", 12.0, POLICY)  # written for audio since replaced
    other = plan_segments("other", 8.0, POLICY)
    ok_clip = write_piano_wav(tmp_path / "fine.wav", 6.0, seed=14)
    outcomes = embed_recordings(
        [
            RecordingAudio("short", take, segments=too_long),
            RecordingAudio("mixed", take, segments=other),
            RecordingAudio("empty", take, segments=[]),
            RecordingAudio("fine", ok_clip),
        ],
        tiny,
        tmp_path / "emb",
        POLICY,
    )
    short, mixed, empty, fine = outcomes
    assert not short.ok
    assert "does not fit the audio" in (short.error or "")
    assert f"short-take.{encoding}" in (short.error or "") and "short_seg001 ends at 10 s" in (
        short.error or ""
    )
    assert not mixed.ok and "belongs to recording other" in (mixed.error or "")
    assert not empty.ok and "segment table is empty" in (empty.error or "")
    assert fine.ok
    assert sorted(p.name for p in (tmp_path / "emb").iterdir()) == ["fine.safetensors"]


# --- transforms and output keys ---------------------------------------------------------------


class Gain:
    """A picklable stand-in for T4's seeded augmentation: scale, plus seeded noise."""

    def __init__(self, factor: float, seed: int = 0) -> None:
        self.factor, self.seed = factor, seed

    def __call__(self, segment: Segment, wave: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng([self.seed, segment.index])
        return wave * self.factor + rng.normal(0, 1e-3, wave.shape).astype(np.float32)

    def describe(self) -> dict[str, str]:
        return {"name": "gain", "factor": str(self.factor), "seed": str(self.seed)}


class Unpicklable(Gain):
    def __init__(self) -> None:
        super().__init__(0.5)
        self.hook = lambda x: x


class WrongLength(Gain):
    def __call__(self, segment: Segment, wave: np.ndarray) -> np.ndarray:
        return wave[:-10]


def test_clean_and_augmented_outputs_of_one_recording(tmp_path: Path, tiny: Embedder) -> None:
    clip = write_piano_wav(tmp_path / "clip.wav", 10.5, seed=15)  # 0.5 s tail dropped
    out = tmp_path / "emb"
    gain = Gain(0.5, seed=3)
    recordings = [
        RecordingAudio("clip", clip),
        RecordingAudio("clip", clip, segment_transform=gain, output_key="clip.aug1"),
    ]
    config = EngineConfig(decode_workers=2)
    clean, augmented = embed_recordings(recordings, tiny, out, POLICY, config=config)
    assert clean.ok and augmented.ok and augmented.output_key == "clip.aug1"
    assert sorted(p.name for p in out.iterdir()) == ["clip.aug1.safetensors", "clip.safetensors"]
    clean_prov, aug_prov = read_provenance(clean.path), read_provenance(augmented.path)
    assert clean_prov["segment_transform"] == "none"
    assert aug_prov["segment_transform"] == "gain"
    assert aug_prov["segment_transform.factor"] == "0.5"
    assert aug_prov["recording_id"] == "clip" and aug_prov["output_key"] == "clip.aug1"
    stored = load_recording_embeddings(augmented.path)
    assert stored.recording_id == "clip" and len(stored.segments) == 2
    audio = _all(clip, direct=True)
    windows = [audio[0 : 5 * SAMPLE_RATE], audio[5 * SAMPLE_RATE : 10 * SAMPLE_RATE]]
    expected = tiny.embed([gain(s, w) for s, w in zip(stored.segments, windows, strict=True)])
    for got, want in zip(stored.frames, expected, strict=True):
        assert torch.equal(got, want.half())
    assert not torch.equal(stored.frames[0], _frames(clean.path)[0])

    # Same transform: skipped; another setting: recomputed; the clean file is never touched.
    before = clean.path.read_bytes()
    again = embed_recordings(recordings, tiny, out, POLICY, config=config)
    assert [o.skipped_existing for o in again] == [True, True]
    changed = [RecordingAudio("clip", clip, segment_transform=Gain(0.7), output_key="clip.aug1")]
    (redo,) = embed_recordings(changed, tiny, out, POLICY)
    assert redo.ok and not redo.skipped_existing
    assert read_provenance(redo.path)["segment_transform.factor"] == "0.7"
    assert clean.path.read_bytes() == before


def test_bad_transforms_and_duplicate_outputs_fail_alone(tmp_path: Path, tiny: Embedder) -> None:
    clip = write_piano_wav(tmp_path / "clip.wav", 6.0, seed=16)
    with pytest.raises(Exception):  # noqa: B017 - the point: it does not pickle
        pickle.dumps(Unpicklable())
    outcomes = embed_recordings(
        [
            RecordingAudio("clip", clip, segment_transform=Unpicklable(), output_key="clip.u"),
            RecordingAudio("clip", clip, segment_transform=WrongLength(1.0), output_key="clip.w"),
            RecordingAudio("clip", clip),
            RecordingAudio("clip", clip, segment_transform=Gain(2.0)),  # same key as the clean one
            RecordingAudio("clip", clip, output_key="../escape"),
        ],
        tiny,
        tmp_path / "emb",
        POLICY,
    )
    unpicklable, wrong, clean, duplicate, unsafe = outcomes
    assert not unpicklable.ok and "cannot be pickled" in (unpicklable.error or "")
    assert not wrong.ok and "expected (120000,)" in (wrong.error or "")
    assert clean.ok
    assert not duplicate.ok and "output key 'clip' is already used" in (duplicate.error or "")
    assert not unsafe.ok and "unsafe key" in (unsafe.error or "")
    assert sorted(p.name for p in (tmp_path / "emb").iterdir()) == ["clip.safetensors"]


# --- writes, configuration --------------------------------------------------------------------


def test_a_failed_write_fails_that_recording_only(tmp_path: Path, tiny: Embedder) -> None:
    out = tmp_path / "emb"
    (out / "blocked.safetensors").mkdir(parents=True)  # a folder where the file should go
    recordings = [
        RecordingAudio("blocked", write_piano_wav(tmp_path / "x.wav", 6.0, seed=17)),
        RecordingAudio("free", write_piano_wav(tmp_path / "y.wav", 6.0, seed=18)),
    ]
    blocked, free = embed_recordings(recordings, tiny, out, POLICY)
    assert not blocked.ok and "cannot write embeddings" in (blocked.error or "")
    assert free.ok and free.path.is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_batch_size_and_compute_dtype_settings() -> None:
    assert parse_batch_size("auto") is None and parse_batch_size(16) == 16
    assert parse_batch_size("12") == 12
    for bad in (0, -3, "many", 2.5):
        with pytest.raises(EmbedderError, match="batch size"):
            parse_batch_size(bad)
    cpu = torch.device("cpu")
    assert resolve_compute_dtype(cpu, "bfloat16") == torch.float32  # a CPU stays float32
    with pytest.raises(EmbedderError, match="compute dtype"):
        resolve_compute_dtype(cpu, "float8")
    auto = build_embedder(EmbedderConfig(mode="random", device="cpu"))
    assert auto.batch_size == 1 and auto.compute_dtype == torch.float32
    with pytest.raises(ValueError, match="decode_workers"):
        EngineConfig(decode_workers=-1).workers()
    # Auto: no decode threads beside a model that keeps the CPU busy; some beside a GPU.
    assert EngineConfig().workers("cpu") == 0 and EngineConfig().workers("cuda") >= 1
    assert EngineConfig(decode_workers=3).workers("cpu") == 3


def test_wav_header_of_the_converter_is_what_the_direct_path_reads(tmp_path: Path) -> None:
    converted = tmp_path / "c.wav"
    convert_to_wav(write_piano_wav(tmp_path / "s.wav", 3.0, sample_rate=44_100, seed=19), converted)
    layout = direct_wav(converted)
    with wave.open(str(converted)) as handle:
        assert layout is not None and layout.frames == handle.getnframes()


def test_engine_settings_and_resource_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    from piano_assets.resources import MuqEmbedderResource
    from piano_assets.settings import PianoAssetsSettings

    assert PianoAssetsSettings().muq_batch_size == "auto"
    monkeypatch.setenv("PIANO_ASSETS_MUQ_BATCH_SIZE", "16")
    monkeypatch.setenv("PIANO_ASSETS_MUQ_COMPUTE_DTYPE", "float16")
    monkeypatch.setenv("PIANO_ASSETS_DECODE_WORKERS", "3")
    monkeypatch.setenv("PIANO_ASSETS_PREFETCH_SEGMENTS", "40")
    settings = PianoAssetsSettings()
    assert settings.muq_batch_size == 16 and settings.muq_compute_dtype == "float16"
    assert (settings.decode_workers, settings.prefetch_segments) == (3, 40)
    monkeypatch.setenv("PIANO_ASSETS_MUQ_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="muq_batch_size"):
        PianoAssetsSettings()
    for name in ("MUQ_BATCH_SIZE", "MUQ_COMPUTE_DTYPE", "DECODE_WORKERS", "PREFETCH_SEGMENTS"):
        monkeypatch.delenv(f"PIANO_ASSETS_{name}")  # the resource's other defaults read them
    resource = MuqEmbedderResource(
        mode="random", random_size="tiny", batch_size=None, decode_workers=2, prefetch_segments=5
    )
    assert resource.engine_config() == EngineConfig(decode_workers=2, prefetch_segments=5)
    assert resource.get_embedder().batch_size == 1  # auto, on a CPU
