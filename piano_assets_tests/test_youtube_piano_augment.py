"""T4 augmentation: seeded chains, recorded parameters, bit-for-bit regeneration, ranges."""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from piano_assets.engine.segment import make_segment
from piano_assets.sample.synth import piano_notes
from piano_assets.youtube_piano.augment import (
    AUGMENT_SCHEME,
    AugmentationConfig,
    AugmentationError,
    AugmentationRecord,
    SegmentAugmenter,
    apply_record,
    augment_segment,
    augmentation_record,
    augmented_segment_id,
    parameter_problems,
    room_bank,
    segment_seed,
)

SR = 24_000
WAVE = piano_notes(3.0, SR, seed=11)
ALL_KINDS_RECORD = {
    "segment_id": "yt-abc-12345678_seg000",
    "version": 1,
    "seed": segment_seed("yt-abc-12345678_seg000", 1),
    "steps": [
        {"kind": "pitch", "cents": -37.5},
        {"kind": "eq", "bands": [{"center_hz": 180.0, "gain_db": 4.5, "q": 1.2}]},
        room_bank(7, 3)[2].model_dump(mode="json"),
        {"kind": "noise", "snr_db": 14.25, "decay_db_per_octave": -3.01, "noise_seed": 99},
        {"kind": "phone", "codec": "amr_nb", "bitrate": "7.4k"},
    ],
}


def test_regenerating_from_the_recorded_parameters_is_bit_for_bit_in_a_new_process(
    tmp_path: Path,
) -> None:
    record = AugmentationRecord.model_validate(ALL_KINDS_RECORD)
    here = apply_record(WAVE, record)
    (tmp_path / "record.json").write_text(record.model_dump_json())
    np.save(tmp_path / "clean.npy", WAVE)
    script = (
        "import sys, numpy as np\n"
        "from piano_assets.youtube_piano.augment import AugmentationRecord, apply_record\n"
        "d = sys.argv[1]\n"
        "np.random.seed(123)\n"  # a different global RNG state must not matter
        "rec = AugmentationRecord.model_validate_json(open(d + '/record.json').read())\n"
        "np.save(d + '/again.npy', apply_record(np.load(d + '/clean.npy'), rec))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    again = np.load(tmp_path / "again.npy")
    assert again.dtype == np.float32 and again.shape == WAVE.shape
    assert again.tobytes() == here.tobytes()
    assert not np.array_equal(here, WAVE)


def test_a_segment_id_and_version_give_the_same_chain_and_audio_every_time() -> None:
    config = AugmentationConfig(versions_per_segment=3)
    first, record = augment_segment("rec-a_seg004", WAVE, 2, config)
    random.seed(5)
    np.random.seed(5)  # the caller's global RNGs play no part and are left as they were
    state = np.random.get_state()[1].copy()
    second, again = augment_segment("rec-a_seg004", WAVE, 2, config)
    assert record == again and first.tobytes() == second.tobytes()
    assert np.array_equal(np.random.get_state()[1], state)
    assert record.seed == segment_seed("rec-a_seg004", 2)
    assert (
        record.augmented_segment_id
        == augmented_segment_id("rec-a_seg004", 2)
        == "rec-a_seg004_aug02"
    )
    assert augmentation_record("rec-a_seg004", 3, config).seed != record.seed
    assert augmentation_record("rec-a_seg005", 2, config).seed != record.seed


def test_every_kind_changes_the_audio_and_keeps_its_length() -> None:
    for step in ALL_KINDS_RECORD["steps"]:
        record = AugmentationRecord.model_validate({**ALL_KINDS_RECORD, "steps": [step]})
        out = apply_record(WAVE, record)
        assert out.shape == WAVE.shape and out.dtype == np.float32, step["kind"]
        assert np.isfinite(out).all() and np.max(np.abs(out)) <= 0.999
        assert not np.allclose(out, WAVE, atol=1e-3), step["kind"]


def test_noise_is_at_the_recorded_snr() -> None:
    record = AugmentationRecord.model_validate(
        {
            **ALL_KINDS_RECORD,
            "steps": [
                {"kind": "noise", "snr_db": 20.0, "decay_db_per_octave": 0.0, "noise_seed": 3}
            ],
        }
    )
    noise = apply_record(WAVE, record).astype(np.float64) - WAVE
    snr = 10 * np.log10(np.mean(WAVE.astype(np.float64) ** 2) / np.mean(noise**2))
    assert snr == pytest.approx(20.0, abs=0.3)


def test_phone_simulation_removes_what_a_phone_line_cannot_carry() -> None:
    for codec, bitrate in (("amr_nb", "12.2k"), ("g711_mulaw", None), ("g711_alaw", None)):
        step = {"kind": "phone", "codec": codec, "bitrate": bitrate}
        out = apply_record(
            WAVE, AugmentationRecord.model_validate({**ALL_KINDS_RECORD, "steps": [step]})
        )
        spectrum = np.abs(np.fft.rfft(out)) ** 2
        freqs = np.fft.rfftfreq(len(out), 1 / SR)
        above_4k = spectrum[freqs > 4_200].sum() / spectrum.sum()
        assert above_4k < 1e-3, codec


def test_default_chain_draws_the_original_probabilities_and_at_least_one_kind() -> None:
    config = AugmentationConfig()
    records = [augmentation_record(f"rec_seg{n:04d}", 1, config) for n in range(3_000)]
    assert all(record.steps for record in records)
    counts = Counter(kind for record in records for kind in record.kinds)
    # Independent draws, plus one pick in proportion to p when none came up.
    probabilities = {"room": 0.3, "noise": 0.3, "phone": 0.2, "pitch": 0.1, "eq": 0.2}
    none_drawn = float(np.prod([1 - p for p in probabilities.values()]))
    for kind, p in probabilities.items():
        expected = p + none_drawn * p / sum(probabilities.values())
        assert counts[kind] / len(records) == pytest.approx(expected, abs=0.03), kind
    assert all(parameter_problems(record, config) == [] for record in records)
    assert {len(record.steps) for record in records} >= {1, 2, 3}


def test_parameters_out_of_range_are_reported() -> None:
    bad = AugmentationRecord.model_validate(
        {
            **ALL_KINDS_RECORD,
            "steps": [
                {"kind": "noise", "snr_db": 40.0, "decay_db_per_octave": -3.0, "noise_seed": 1},
                {"kind": "pitch", "cents": 80.0},
                {"kind": "eq", "bands": [{"center_hz": 100.0, "gain_db": 9.0, "q": 1.0}]},
            ],
        }
    )
    problems = parameter_problems(bad)
    assert any("snr_db 40.0 outside [10.0, 30.0]" in p for p in problems)
    assert any("pitch cents 80.0" in p for p in problems)
    assert any("eq gain_db 9.0" in p for p in problems)
    forged = AugmentationRecord.model_validate({**ALL_KINDS_RECORD, "seed": 1})
    assert any("seed does not derive" in p for p in parameter_problems(forged))


def test_configuration_and_records_are_validated() -> None:
    with pytest.raises(ValidationError, match="within"):
        AugmentationConfig(probabilities={"room": 1.5})
    with pytest.raises(ValidationError, match="snr_db must stay within"):
        AugmentationConfig(ranges={"snr_db": (5.0, 30.0)})
    with pytest.raises(ValidationError, match="Extra inputs"):
        AugmentationConfig(versions=2)
    with pytest.raises(ValidationError):
        AugmentationRecord.model_validate({**ALL_KINDS_RECORD, "steps": [{"kind": "reverse"}]})
    with pytest.raises(ValidationError, match="AMR-NB bitrate"):
        AugmentationRecord.model_validate(
            {**ALL_KINDS_RECORD, "steps": [{"kind": "phone", "codec": "amr_nb", "bitrate": "64k"}]}
        )
    with pytest.raises(AugmentationError, match="versions start at 1"):
        augmentation_record("x_seg000", 0)
    with pytest.raises(AugmentationError, match="mono"):
        apply_record(
            np.zeros((2, 100), np.float32), AugmentationRecord.model_validate(ALL_KINDS_RECORD)
        )


def test_the_engine_transform_is_picklable_and_describes_itself() -> None:
    config = AugmentationConfig(versions_per_segment=2)
    augmenter = SegmentAugmenter(config, version=2)
    clone = pickle.loads(pickle.dumps(augmenter))  # noqa: S301 - our own bytes
    assert clone == augmenter
    segment = make_segment("rec-b", 0, 0, len(WAVE), SR)
    out = clone(segment, WAVE)
    record = augmenter.parameters_for(segment.segment_id)
    assert out.tobytes() == apply_record(WAVE, record).tobytes()
    described = augmenter.describe()
    assert described["augmentation_scheme"] == AUGMENT_SCHEME
    assert described["augmentation_version"] == "2"
    assert described["augmentation_config_sha256"] == config.sha256()
    assert '"audiomentations": "0.43.1"' in described["augmentation_libraries"]
    assert all(isinstance(v, str) for v in described.values())
    with pytest.raises(AugmentationError, match=r"outside 1\.\.2"):
        SegmentAugmenter(config, version=3)


def test_the_room_bank_is_seeded_and_physical() -> None:
    bank = room_bank(42, 16)
    assert bank == room_bank(42, 16) and bank != room_bank(43, 16)
    for room in bank:
        assert 0.2 <= room.rt60_s <= 1.5 and room.max_order <= 25
        for point in (room.source_m, room.microphone_m):
            assert all(0 < c < d for c, d in zip(point, room.dimensions_m, strict=True))
