"""The shared engine: decode, segment, embed (tiny random MuQ), store."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import pytest
import torch

from piano_assets.engine import (
    AudioDecodeError,
    AudioTooLongError,
    Embedder,
    EmbedderConfig,
    EmbedderError,
    EmptyAudioError,
    RecordingAudio,
    SegmentPolicy,
    SilentAudioError,
    TooShortAudioError,
    build_embedder,
    convert_to_wav,
    decode_audio,
    embed_recordings,
    from_t1_cache,
    load_recording_embeddings,
    plan_segments,
    stream_audio,
    to_t1_cache,
)
from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.engine.files import UnsafeNameError
from piano_assets.sample.synth import write_piano_wav


@pytest.fixture
def embedder(tiny_embedder: Embedder) -> Embedder:
    return tiny_embedder


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.mark.parametrize("ext", ["flac", "mp3", "opus"])
def test_common_formats_decode_to_24k_mono(tmp_path: Path, ext: str) -> None:
    source = write_piano_wav(tmp_path / "src.wav", 3.0, sample_rate=44_100, channels=2)
    encoded = tmp_path / f"clip.{ext}"
    _ffmpeg("-i", str(source), str(encoded))
    audio = decode_audio(encoded)
    assert audio.dtype.name == "float32"
    assert abs(len(audio) / 24_000 - 3.0) < 0.1


def test_convert_to_wav_writes_24k_mono(tmp_path: Path) -> None:
    source = write_piano_wav(tmp_path / "src.wav", 6.5, sample_rate=48_000, channels=2)
    info = convert_to_wav(source, tmp_path / "out.wav")
    with wave.open(str(tmp_path / "out.wav")) as handle:
        assert (handle.getframerate(), handle.getnchannels()) == (24_000, 1)
    assert abs(info.duration_s - 6.5) < 0.01


def test_bad_inputs_fail_clearly_and_leave_nothing(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + b"\x00garbage" * 50)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    silent = tmp_path / "silent.wav"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=24000:cl=mono", "-t", "3", str(silent))
    short = write_piano_wav(tmp_path / "short.wav", 0.3)
    long = write_piano_wav(tmp_path / "long.wav", 8.0)
    cases = [
        (corrupt, AudioDecodeError, {}),
        (empty, EmptyAudioError, {}),
        (silent, SilentAudioError, {}),
        (short, TooShortAudioError, {}),
        (long, AudioTooLongError, {"max_seconds": 5.0}),
    ]
    for source, error, options in cases:
        target = tmp_path / f"out-{source.stem}.wav"
        with pytest.raises(error, match=source.name):
            convert_to_wav(source, target, **options)
        assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_streaming_blocks_are_bounded(tmp_path: Path) -> None:
    long = tmp_path / "hour.flac"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "900", str(long))
    sizes = [len(block) for block in stream_audio(long, block_seconds=30.0)]
    assert max(sizes) == 30 * 24_000
    assert len(sizes) == 30
    assert abs(sum(sizes) / 24_000 - 900) < 0.1


def test_segment_tail_policy() -> None:
    policy = SegmentPolicy(segment_seconds=30.0, min_tail_seconds=5.0)
    segments = plan_segments("rec", 65.0, policy)
    assert [(s.segment_id, s.start_s, s.end_s) for s in segments] == [
        ("rec_seg000", 0.0, 30.0),
        ("rec_seg001", 30.0, 60.0),
        ("rec_seg002", 60.0, 65.0),
    ]
    assert len(plan_segments("rec", 64.9, policy)) == 2
    assert plan_segments("rec", 4.0, policy) == []
    with pytest.raises(UnsafeNameError):
        plan_segments("../etc", 65.0, policy)


def test_embed_store_round_trip_and_failure_isolation(tmp_path: Path, embedder) -> None:
    good = write_piano_wav(tmp_path / "good.wav", 65.0, seed=1)
    other = write_piano_wav(tmp_path / "other.wav", 31.0, seed=2)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 100)
    out = tmp_path / "emb"
    recordings = [
        RecordingAudio("good", good),
        RecordingAudio("bad", bad),
        RecordingAudio("other", other),
    ]
    outcomes = {
        o.recording_id: o for o in embed_recordings(recordings, embedder, out, SegmentPolicy())
    }
    assert outcomes["good"].ok and outcomes["good"].n_segments == 3
    assert outcomes["other"].ok and outcomes["other"].n_segments == 1  # 1 s tail dropped
    assert not outcomes["bad"].ok and "bad.wav" in (outcomes["bad"].error or "")

    rec = load_recording_embeddings(out / "good.safetensors")
    assert [tuple(t.shape) for t in rec.frames] == [(750, 64), (750, 64), (125, 64)]
    assert rec.provenance["random_weights"] == "true"
    assert "RANDOM-WEIGHT" in rec.provenance["embedder_label"]
    assert rec.provenance["audio_sha256"]

    # Bit-exact: the same recording embedded again by a fresh model equals what was stored.
    # Same batch size: on a CPU the batch shape changes the last bits of the numbers.
    fresh = build_embedder(EmbedderConfig(mode="random", random_size="tiny", batch_size=4))
    again = embed_recordings(
        [RecordingAudio("good", good)], fresh, tmp_path / "again", SegmentPolicy()
    )
    assert again[0].ok
    rec2 = load_recording_embeddings(tmp_path / "again" / "good.safetensors")
    assert all(torch.equal(a, b) for a, b in zip(rec.frames, rec2.frames, strict=True))

    # Re-running skips finished files and leaves them untouched.
    before = (out / "good.safetensors").read_bytes()
    rerun = embed_recordings([RecordingAudio("good", good)], embedder, out, SegmentPolicy())
    assert rerun[0].skipped_existing and rerun[0].n_segments == 3
    assert (out / "good.safetensors").read_bytes() == before

    # T1 converter both ways.
    to_t1_cache([rec], tmp_path / "t1.pt")
    t1 = from_t1_cache(tmp_path / "t1.pt")
    assert set(t1) == {"good_seg000", "good_seg001", "good_seg002"}
    assert torch.equal(t1["good_seg002"], rec.frames[2])


def test_pooled_output(tmp_path: Path) -> None:
    pooled = build_embedder(EmbedderConfig(mode="random", pooling="mean_std"))
    clip = write_piano_wav(tmp_path / "clip.wav", 35.0, seed=3)
    (outcome,) = embed_recordings([RecordingAudio("clip", clip)], pooled, tmp_path, SegmentPolicy())
    rec = load_recording_embeddings(outcome.path)
    assert rec.pooled is not None and tuple(rec.pooled.shape) == (2, 128)


def test_pretrained_mode_without_weights_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="not available locally"):
        build_embedder(EmbedderConfig(mode="pretrained", weights=str(tmp_path / "nope")))


def test_device_auto_picks_cpu_without_cuda(embedder) -> None:
    if not torch.cuda.is_available():
        assert embedder.device.type == "cpu"
        assert embedder.dtype == torch.float32
