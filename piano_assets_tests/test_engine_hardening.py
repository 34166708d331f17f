"""Issue #11, engine items: true provenance (stored dtype, git commit) and one silence rule.

Written against the engine's old public API on purpose: each test fails on the engine before
the fix (provenance said float32, had no commit; silent audio was embedded by the streaming
path) and passes after.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from piano_assets.engine import (
    Embedder,
    EmbedderConfig,
    RecordingAudio,
    SegmentPolicy,
    SilentAudioError,
    build_embedder,
    convert_to_wav,
    embed_recordings,
    load_recording_embeddings,
    read_provenance,
    save_recording_embeddings,
)
from piano_assets.engine.ffmpeg import ffmpeg_exe
from piano_assets.sample.synth import write_piano_wav

POLICY = SegmentPolicy(segment_seconds=5.0, min_tail_seconds=1.0)


@pytest.fixture(scope="module")
def tiny() -> Embedder:
    return build_embedder(EmbedderConfig(mode="random", random_size="tiny", batch_size=4))


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True)


def _silence(path: Path, seconds: float, rate: int = 44_100, channels: int = 2) -> Path:
    source = f"anullsrc=r={rate}:cl={'stereo' if channels == 2 else 'mono'}"
    _ffmpeg("-f", "lavfi", "-i", source, "-t", f"{seconds:g}", str(path))
    return path


def test_provenance_dtype_is_what_the_file_stores(tmp_path: Path, tiny: Embedder) -> None:
    clip = write_piano_wav(tmp_path / "clip.wav", 7.0, seed=1)
    (outcome,) = embed_recordings([RecordingAudio("clip", clip)], tiny, tmp_path / "emb", POLICY)
    stored = load_recording_embeddings(outcome.path)
    stored_dtype = str(stored.frames[0].dtype).removeprefix("torch.")
    assert stored_dtype == "float16"
    assert stored.provenance["dtype"] == stored_dtype
    expected_compute = (
        "float32" if tiny.device.type == "cpu" else stored.provenance["compute_dtype"]
    )
    assert stored.provenance["compute_dtype"] == expected_compute


def test_provenance_records_the_platform_commit(tmp_path: Path, tiny: Embedder) -> None:
    import piano_assets

    package = Path(piano_assets.__file__).resolve().parent
    head = subprocess.run(
        ["git", "-C", str(package), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    clip = write_piano_wav(tmp_path / "clip.wav", 6.0, seed=2)
    (outcome,) = embed_recordings([RecordingAudio("clip", clip)], tiny, tmp_path / "emb", POLICY)
    provenance = read_provenance(outcome.path)
    assert provenance["code_version"] == piano_assets.__version__
    if head.returncode == 0:  # tests run from a checkout
        assert provenance["git_commit"] == head.stdout.strip()
        assert provenance["git_dirty"] in {"true", "false"}
    else:
        assert provenance["git_commit"] == "unknown"


def test_another_commit_does_not_make_a_finished_file_stale(tmp_path: Path, tiny: Embedder) -> None:
    clip = write_piano_wav(tmp_path / "clip.wav", 6.0, seed=3)
    out = tmp_path / "emb"
    (first,) = embed_recordings([RecordingAudio("clip", clip)], tiny, out, POLICY)
    rec = load_recording_embeddings(first.path)
    rec.provenance = {**rec.provenance, "git_commit": "0" * 40, "git_dirty": "true"}
    save_recording_embeddings(first.path, rec)  # as if an older commit had written it
    (again,) = embed_recordings([RecordingAudio("clip", clip)], tiny, out, POLICY)
    assert again.ok and again.skipped_existing
    assert read_provenance(first.path)["git_commit"] == "0" * 40  # left untouched


def test_git_state_is_unknown_outside_a_checkout_never_an_error(tmp_path: Path) -> None:
    from piano_assets.engine.provenance import git_state

    loose = tmp_path / "site-packages" / "piano_assets"
    loose.mkdir(parents=True)
    assert git_state(loose) == ("unknown", "unknown")
    # A package inside some other repository is not that repository's code.
    other = tmp_path / "other-repo"
    (other / "vendor" / "piano_assets").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    assert git_state(other / "vendor" / "piano_assets") == ("unknown", "unknown")


def test_git_state_of_a_checkout_says_commit_and_dirty(tmp_path: Path) -> None:
    from piano_assets.engine.provenance import git_state

    repo = tmp_path / "platform"
    package = repo / "piano_assets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    (repo / "untracked.txt").write_text("not part of the code\n")
    assert git_state(package) == (head.stdout.strip(), "false")
    (package / "__init__.py").write_text("x = 2\n")
    assert git_state(package) == (head.stdout.strip(), "true")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("silent.flac", lambda path: _silence(path, 8.0)),  # through ffmpeg
        ("silent-24k.wav", lambda path: _silence(path, 8.0, rate=24_000, channels=1)),  # direct
    ],
)
def test_silent_audio_fails_in_the_engine_naming_the_file(
    tmp_path: Path, tiny: Embedder, name: str, make
) -> None:
    silent = make(tmp_path / name)
    clip = write_piano_wav(tmp_path / "clip.wav", 6.0, seed=4)
    out = tmp_path / "emb"
    outcomes = embed_recordings(
        [RecordingAudio("silent", silent), RecordingAudio("clip", clip)], tiny, out, POLICY
    )
    assert not outcomes[0].ok
    assert name in (outcomes[0].error or "") and "silent" in (outcomes[0].error or "")
    assert outcomes[1].ok  # the others go on
    assert sorted(p.name for p in out.iterdir()) == ["clip.safetensors"]


def test_converter_and_engine_apply_the_same_silence_rule(tmp_path: Path, tiny: Embedder) -> None:
    # -80 dBFS noise: quiet but not digital zero; under the threshold for both.
    quiet = tmp_path / "quiet.flac"
    _ffmpeg("-f", "lavfi", "-i", "anoisesrc=r=24000:a=0.0001:c=white", "-t", "6", str(quiet))
    with pytest.raises(SilentAudioError, match=r"quiet\.flac") as converter:
        convert_to_wav(quiet, tmp_path / "quiet.wav")
    (outcome,) = embed_recordings([RecordingAudio("quiet", quiet)], tiny, tmp_path / "e", POLICY)
    rule = "under the silence threshold 3e-04"
    assert not outcome.ok and "quiet.flac" in (outcome.error or "")
    assert rule in (outcome.error or "") and rule in str(converter.value)
