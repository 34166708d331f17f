"""Engine contract: decode, bounded streaming, tail policy, batching, store, determinism.

Complements test_engine_core.py; every input is generated here (ffmpeg lavfi or the synth).
"""

from __future__ import annotations

import subprocess
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from piano_assets.engine import (
    SAMPLE_RATE,
    AudioError,
    Embedder,
    EmbedderConfig,
    EmbedderError,
    RecordingAudio,
    RecordingEmbeddings,
    SegmentPolicy,
    build_embedder,
    convert_to_wav,
    decode_audio,
    embed_recordings,
    from_t1_cache,
    load_recording_embeddings,
    plan_segments,
    read_provenance,
    save_recording_embeddings,
    stream_audio,
    to_t1_cache,
)
from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.files import UnsafeNameError
from piano_assets.sample.synth import write_piano_wav

TONE_HZ = 440.0


@pytest.fixture
def tiny(tiny_embedder: Embedder) -> Embedder:
    return tiny_embedder


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True)


def _tone(path: Path, seconds: float, rate: int = 44_100, channels: int = 2) -> Path:
    source = f"sine=frequency={TONE_HZ:g}:sample_rate={rate}"
    _ffmpeg("-f", "lavfi", "-i", source, "-t", f"{seconds:g}", "-ac", str(channels), str(path))
    return path


def _dominant_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[int(np.argmax(spectrum))])


# --- decode ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "opus"])
def test_decode_gives_24k_mono_with_pitch_kept(tmp_path: Path, ext: str) -> None:
    encoded = _tone(tmp_path / f"tone.{ext}", 4.0)
    audio = decode_audio(encoded)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert abs(len(audio) / SAMPLE_RATE - 4.0) < 0.06  # lossy codecs pad a few ms
    # A 440 Hz tone still reads 440 Hz at 24 kHz: the rate really is converted, not relabelled.
    assert abs(_dominant_hz(audio[2400:-2400], SAMPLE_RATE) - TONE_HZ) < 2.0


def test_convert_44k_stereo_to_24k_mono_wav(tmp_path: Path) -> None:
    source = write_piano_wav(tmp_path / "src.wav", 7.25, sample_rate=44_100, channels=2)
    info = convert_to_wav(source, tmp_path / "out.wav")
    with wave.open(str(tmp_path / "out.wav")) as handle:
        header = (handle.getframerate(), handle.getnchannels(), handle.getsampwidth())
        frames = handle.getnframes()
    assert header == (24_000, 1, 2)
    assert frames == round(7.25 * 24_000)
    assert info.sample_rate == 24_000 and abs(info.duration_s - 7.25) < 1e-3


def test_error_names_the_file_for_each_bad_input(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt-take.flac"
    corrupt.write_bytes(b"fLaC" + bytes(range(256)) * 8)
    with pytest.raises(AudioError, match=r"corrupt-take\.flac"):
        decode_audio(corrupt)
    with pytest.raises(AudioError, match=r"missing-take\.wav: file not found"):
        decode_audio(tmp_path / "missing-take.wav")
    empty = tmp_path / "empty-take.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty-take\.wav: file is empty"):
        list(stream_audio(empty))


@pytest.mark.timeout(90)
def test_partly_corrupt_file_with_many_decoder_errors_does_not_hang(tmp_path: Path) -> None:
    # ffmpeg writes one error line per damaged frame; far more than a pipe buffer (64 KB) here.
    clean = tmp_path / "clean.mp3"
    _ffmpeg("-f", "lavfi", "-i", "anoisesrc=d=600:r=48000", "-b:a", "64k", str(clean))
    data = bytearray(clean.read_bytes())
    keep = len(data) // 10
    noise = np.random.default_rng(0).integers(0, 256, len(data) - 2 * keep, dtype=np.uint8)
    data[keep : len(data) - keep] = noise.tobytes()
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    try:
        seconds = sum(len(block) for block in stream_audio(damaged)) / SAMPLE_RATE
    except AudioError as err:
        assert "damaged.mp3" in str(err)
    else:
        assert 0 < seconds <= 601


def test_streaming_an_hour_keeps_memory_to_about_one_block(tmp_path: Path) -> None:
    # 1 h at 8 kHz keeps the file small; decoded at 24 kHz it would be 345 MB in one array.
    hour = _tone(tmp_path / "hour.wav", 3600, rate=8_000, channels=1)
    block_samples = 30 * SAMPLE_RATE
    sizes: list[int] = []
    tracemalloc.start()
    try:
        for block in stream_audio(hour, block_seconds=30.0):
            sizes.append(len(block))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sizes) == 120
    assert max(sizes) <= block_samples and sizes[:-1] == [block_samples] * 119
    assert sum(sizes) == 3600 * SAMPLE_RATE
    assert peak < 8 * block_samples * 4, f"peak {peak / 1e6:.1f} MB for 2.9 MB blocks"


# --- segments -------------------------------------------------------------------------------


def test_tail_policy_and_ids() -> None:
    policy = SegmentPolicy(segment_seconds=30.0, min_tail_seconds=5.0)
    three = plan_segments("take-1", 65.0, policy)
    assert [s.segment_id for s in three] == ["take-1_seg000", "take-1_seg001", "take-1_seg002"]
    assert three[-1].duration_s == pytest.approx(5.0)
    assert [s.index for s in three] == [0, 1, 2]
    assert len(plan_segments("take-1", 63.0, policy)) == 2
    assert len(plan_segments("take-1", 63.0, SegmentPolicy(min_tail_seconds=3.0))) == 3
    long = plan_segments("r", 30.0 * 11, policy)
    assert long[10].segment_id == "r_seg010" and long[10].start_s == 300.0
    short = plan_segments("r", 12.0, policy)
    assert [(s.start_s, s.end_s) for s in short] == [(0.0, 12.0)]


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "récital", "ショパン", "", "Upper"])
def test_unsafe_recording_ids_are_rejected(bad_id: str) -> None:
    with pytest.raises(UnsafeNameError):
        plan_segments(bad_id, 65.0, SegmentPolicy())


def test_unsafe_id_fails_alone_in_a_batch(tmp_path: Path, tiny: Embedder) -> None:
    clip = write_piano_wav(tmp_path / "clip.wav", 30.0, seed=4)
    outcomes = embed_recordings(
        [RecordingAudio("../clip", clip), RecordingAudio("clip", clip)],
        tiny,
        tmp_path / "emb",
        SegmentPolicy(),
    )
    assert not outcomes[0].ok and "unsafe key" in (outcomes[0].error or "")
    assert outcomes[1].ok and outcomes[1].n_segments == 1
    assert sorted(p.name for p in (tmp_path / "emb").iterdir()) == ["clip.safetensors"]


# --- embedding ------------------------------------------------------------------------------


def test_frame_counts_for_full_and_tail_segments(tiny: Embedder) -> None:
    rng = np.random.default_rng(0)
    full, tail = (rng.standard_normal(s * SAMPLE_RATE).astype(np.float32) * 0.1 for s in (30, 5))
    out = tiny.embed([full, tail, full])
    assert [tuple(t.shape) for t in out] == [(750, tiny.dim), (125, tiny.dim), (750, tiny.dim)]


def test_batched_embedding_equals_one_at_a_time_in_order(tiny: Embedder) -> None:
    rng = np.random.default_rng(1)
    waves = [
        rng.standard_normal(int(s * SAMPLE_RATE)).astype(np.float32) * 0.1
        for s in (10, 3, 10, 10, 3, 10, 10)
    ]  # mixed lengths, more equal-length waves than one batch
    batched = tiny.embed(waves)
    single = [tiny.embed([w])[0] for w in waves]
    for a, b in zip(batched, single, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(batched[0], batched[2])  # different inputs, different outputs


def test_fresh_embedders_are_deterministic_and_keep_caller_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = build_embedder(EmbedderConfig(mode="random", random_size="tiny"))
    assert torch.equal(torch.rand(3), expected)  # building did not reseed the caller's RNG
    second = build_embedder(EmbedderConfig(mode="random", random_size="tiny"))
    wave = np.random.default_rng(2).standard_normal(10 * SAMPLE_RATE).astype(np.float32) * 0.1
    assert torch.equal(first.embed([wave])[0], second.embed([wave])[0])
    assert first.revision == second.revision


def test_engine_run_provenance_skip_and_recompute(tmp_path: Path, tiny: Embedder) -> None:
    clips = {
        "a": write_piano_wav(tmp_path / "a.wav", 65.0, sample_rate=44_100, seed=11, channels=2),
        "b": write_piano_wav(tmp_path / "b.wav", 35.0, seed=12),
        "c": write_piano_wav(tmp_path / "c.wav", 31.0, seed=13),
    }
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\xff" * 300)
    recordings = [
        RecordingAudio("a", clips["a"], {"tier": "t-test"}),
        RecordingAudio("broken", broken),
        RecordingAudio("b", clips["b"]),
        RecordingAudio("c", clips["c"]),
    ]
    out = tmp_path / "emb"
    first = {o.recording_id: o for o in embed_recordings(recordings, tiny, out, SegmentPolicy())}
    assert {rid for rid, o in first.items() if o.ok} == {"a", "b", "c"}
    assert "broken.wav" in (first["broken"].error or "")
    assert [first[r].n_segments for r in "abc"] == [3, 2, 1]  # c: 1 s tail dropped
    a = load_recording_embeddings(out / "a.safetensors")
    assert [tuple(t.shape) for t in a.frames] == [(750, 64), (750, 64), (125, 64)]
    provenance = read_provenance(out / "a.safetensors")
    assert provenance["random_weights"] == "true"
    assert provenance["embedder_label"].startswith("RANDOM-WEIGHT")
    assert provenance["tier"] == "t-test" and provenance["sample_rate"] == "24000"

    stat = (out / "a.safetensors").stat()
    again = embed_recordings(recordings, tiny, out, SegmentPolicy())
    assert [o.skipped_existing for o in again] == [True, False, True, True]
    assert not again[1].ok
    after = (out / "a.safetensors").stat()
    assert (after.st_mtime_ns, after.st_size) == (stat.st_mtime_ns, stat.st_size)

    # Different audio under the same id is recomputed, not skipped.
    write_piano_wav(clips["b"], 35.0, seed=99)
    (redo,) = embed_recordings([RecordingAudio("b", clips["b"])], tiny, out, SegmentPolicy())
    assert redo.ok and not redo.skipped_existing


# --- store ----------------------------------------------------------------------------------


def _segments(rid: str, n: int) -> list:
    return plan_segments(rid, 30.0 * (n - 1) + 10.0, SegmentPolicy())


def test_store_round_trip_is_bit_exact(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(7)
    frames = [torch.randn(750, 64, generator=gen), torch.randn(250, 64, generator=gen)]
    frames = [f.half() for f in frames]
    rec = RecordingEmbeddings("rt", _segments("rt", 2), {"k": "v"}, frames=frames)
    save_recording_embeddings(tmp_path / "rt.safetensors", rec)
    back = load_recording_embeddings(tmp_path / "rt.safetensors")
    assert back.pooled is None and back.provenance == {"k": "v"}
    assert back.segments == rec.segments
    assert all(torch.equal(a, b) for a, b in zip(frames, back.frames, strict=True))


@pytest.mark.parametrize("width", [64, 128])  # mean, mean_std
def test_store_round_trip_pooled(tmp_path: Path, width: int) -> None:
    pooled = torch.randn(3, width, generator=torch.Generator().manual_seed(width)).half()
    rec = RecordingEmbeddings("pool", _segments("pool", 3), {}, pooled=pooled)
    save_recording_embeddings(tmp_path / "pool.safetensors", rec)
    back = load_recording_embeddings(tmp_path / "pool.safetensors")
    assert back.pooled is not None and torch.equal(back.pooled, pooled)
    assert list(back.by_segment_id()) == ["pool_seg000", "pool_seg001", "pool_seg002"]


@pytest.mark.parametrize("pooling", ["mean", "mean_std"])
def test_pooled_values_match_frames(tmp_path: Path, tiny: Embedder, pooling: str) -> None:
    pooled = build_embedder(EmbedderConfig(mode="random", random_size="tiny", pooling=pooling))
    wave = np.random.default_rng(3).standard_normal(10 * SAMPLE_RATE).astype(np.float32) * 0.1
    frames = tiny.embed([wave])[0]
    expected = frames.mean(0)
    if pooling == "mean_std":
        expected = torch.cat([expected, frames.std(0, unbiased=False)])
    torch.testing.assert_close(pooled.embed([wave])[0], expected, rtol=1e-4, atol=1e-5)


def test_t1_cache_both_ways_loads_with_weights_only(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(1)
    recs = [
        RecordingEmbeddings("r1", _segments("r1", 2), {}, pooled=torch.randn(2, 8, generator=gen)),
        RecordingEmbeddings("r2", _segments("r2", 1), {}, pooled=torch.randn(1, 8, generator=gen)),
    ]
    to_t1_cache(recs, tmp_path / "t1.pt")
    raw = torch.load(tmp_path / "t1.pt", map_location="cpu", weights_only=True)
    back = from_t1_cache(tmp_path / "t1.pt")
    assert set(back) == set(raw) == {"r1_seg000", "r1_seg001", "r2_seg000"}
    assert torch.equal(back["r1_seg001"], recs[0].pooled[1])
    assert back["r2_seg000"].untyped_storage().nbytes() == 8 * 4  # no shared storage saved
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not a T1 cache"):
        from_t1_cache(tmp_path / "list.pt")


# --- configuration --------------------------------------------------------------------------


def test_pretrained_without_local_weights_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="not available locally") as missing_dir:
        build_embedder(EmbedderConfig(mode="pretrained", weights=str(tmp_path / "no-weights")))
    assert "no-weights" in str(missing_dir.value)
    with pytest.raises(EmbedderError, match="unknown MuQ mode"):
        build_embedder(EmbedderConfig(mode="bogus"))


def test_device_auto_is_cpu_when_no_cuda(tiny: Embedder) -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert tiny.device.type == expected
    assert tiny.provenance()["device_type"] == expected
    assert tiny.provenance()["dtype"] == "float16"  # what the store holds, on every device
    assert tiny.provenance()["compute_dtype"] == ("bfloat16" if expected == "cuda" else "float32")
