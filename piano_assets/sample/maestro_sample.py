"""A small MAESTRO-shaped `maestro_cache/`: real metadata rows, synthesized audio.

Six real MAESTRO v3 recordings (metadata only), chosen so the tier has something to show:
two performances of Mendelssohn's Variations sérieuses whose raw titles differ only by a comma
(train), two of Chopin's Berceuse likewise (validation), and one unrelated piece in each of the
two splits. The audio is synthesized piano-like sound, 44.1 kHz (one file 48 kHz) 16-bit stereo
like the real files, 35-50 s long; the sample CSV's `duration` is the synthesized length.

Layout written (deterministic bytes; the zip has fixed timestamps):
    maestro_cache/maestro-v3.0.0.csv, maestro-v3.0.0.json       metadata (JSON column-oriented)
    maestro_cache/maestro-v3.0.0.zip                             official zip layout, deflated
    maestro_cache/maestro-v3.0.0/{csv,json,<year>/<file>.wav}   the extracted folder
    maestro_cache/README-MAESTRO-SAMPLE.md                       provenance and licence

Licence of the metadata rows below: MAESTRO v3.0.0 by Google Magenta, CC BY-NC-SA 4.0
(https://magenta.tensorflow.org/datasets/maestro). The audio is not MAESTRO's.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from piano_assets.engine.files import atomic_path, atomic_write_bytes, atomic_write_text
from piano_assets.maestro.archive import ZIP_NAME
from piano_assets.maestro.metadata import (
    CSV_NAME,
    DATASET_DIR_NAME,
    JSON_NAME,
    MAESTRO_COLUMNS,
    read_maestro_metadata,
)
from piano_assets.sample.synth import piano_notes, wav_bytes

_ZIP_DATE = (2021, 1, 1, 0, 0, 0)
LICENCE_NOTE = (
    "Metadata rows from MAESTRO v3.0.0 by Google Magenta, licensed CC BY-NC-SA 4.0 "
    "(https://magenta.tensorflow.org/datasets/maestro). Audio is synthesized by piano-assets "
    "and is not MAESTRO audio; `duration` is the synthesized length."
)


@dataclass(frozen=True)
class SampleRecording:
    composer: str
    title: str
    split: str
    year: int
    audio_filename: str
    seconds: float  # synthesized length (the real recording is longer)
    sample_rate: int
    seed: int

    @property
    def midi_filename(self) -> str:
        return self.audio_filename.removesuffix(".wav") + ".midi"


# Real MAESTRO v3.0.0 rows (CC BY-NC-SA 4.0, Google Magenta): composer, title, split, year and
# file names exactly as in maestro-v3.0.0.csv. Only `seconds` is ours.
SAMPLE_RECORDINGS: tuple[SampleRecording, ...] = (
    SampleRecording(
        "Felix Mendelssohn",
        "Variations Serieuses Op. 54",
        "train",
        2017,
        "2017/MIDI-Unprocessed_070_PIANO070_MID--AUDIO-split_07-08-17_Piano-e_1-02_wav--3.wav",
        47.0,
        44_100,
        301,
    ),
    SampleRecording(
        "Felix Mendelssohn",
        "Variations Serieuses, Op. 54",
        "train",
        2008,
        "2008/MIDI-Unprocessed_08_R3_2008_01-05_ORIG_MID--AUDIO_08_R3_2008_wav--3.wav",
        41.0,
        48_000,
        302,
    ),
    SampleRecording(
        "Nikolai Rimsky-Korsakov / Sergei Rachmaninoff",
        "The Flight of the Bunble-Bee",
        "train",
        2008,
        "2008/MIDI-Unprocessed_08_R1_2008_01-05_ORIG_MID--AUDIO_08_R1_2008_wav--5.wav",
        36.0,
        44_100,
        303,
    ),
    SampleRecording(
        "Frédéric Chopin",
        "Berceuse Op. 57",
        "validation",
        2008,
        "2008/MIDI-Unprocessed_14_R1_2008_01-05_ORIG_MID--AUDIO_14_R1_2008_wav--4.wav",
        44.0,
        44_100,
        304,
    ),
    SampleRecording(
        "Frédéric Chopin",
        "Berceuse, Op. 57",
        "validation",
        2015,
        "2015/MIDI-Unprocessed_R1_D1-9-12_mid--AUDIO-from_mp3_09_R1_2015_wav--4.wav",
        50.0,
        44_100,
        305,
    ),
    SampleRecording(
        "Franz Liszt",
        'Transcendental Etude No. 1 "Prelude"',
        "validation",
        2008,
        "2008/MIDI-Unprocessed_04_R3_2008_01-07_ORIG_MID--AUDIO_04_R3_2008_wav--2.wav",
        38.0,
        44_100,
        306,
    ),
)


def sample_metadata(csv_source: Path | None = None) -> pl.DataFrame:
    """The sample's metadata table (MAESTRO's seven columns, in MAESTRO's order).

    With `csv_source` (the real CSV), composer/title/split/year/file names are taken from it,
    which also proves the embedded rows are real; durations are always the synthesized ones.
    """
    rows = [
        {
            "canonical_composer": r.composer,
            "canonical_title": r.title,
            "split": r.split,
            "year": r.year,
            "midi_filename": r.midi_filename,
            "audio_filename": r.audio_filename,
            "duration": r.seconds,
        }
        for r in SAMPLE_RECORDINGS
    ]
    frame = pl.DataFrame(rows, schema=MAESTRO_COLUMNS)
    if csv_source is None:
        return frame
    real = read_maestro_metadata(csv_source).drop("recording_id", "duration")
    joined = frame.select("audio_filename", "duration").join(real, on="audio_filename", how="left")
    missing = joined.filter(pl.col("canonical_title").is_null())["audio_filename"].to_list()
    if missing:
        raise ValueError(f"{csv_source}: sample recordings not in the real metadata: {missing}")
    return joined.select(list(MAESTRO_COLUMNS))


def _column_json(frame: pl.DataFrame) -> bytes:
    """MAESTRO's column-oriented JSON: {column: {"0": value, ...}}."""
    document = {
        column: {str(i): value for i, value in enumerate(frame[column].to_list())}
        for column in frame.columns
    }
    return (json.dumps(document, ensure_ascii=False, indent=None) + "\n").encode()


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    return buffer.getvalue()


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=6)


def build_maestro_sample(maestro_cache: Path, csv_source: Path | None) -> None:
    """Write the sample `maestro_cache/` (metadata, zip, extracted folder). Deterministic."""
    frame = sample_metadata(csv_source)
    csv_data = _csv_bytes(frame)
    json_data = _column_json(frame)
    audio = {
        r.audio_filename: wav_bytes(
            piano_notes(r.seconds, r.sample_rate, r.seed), r.sample_rate, channels=2
        )
        for r in SAMPLE_RECORDINGS
    }

    atomic_write_bytes(maestro_cache / CSV_NAME, csv_data)
    atomic_write_bytes(maestro_cache / JSON_NAME, json_data)
    folder = maestro_cache / DATASET_DIR_NAME
    atomic_write_bytes(folder / CSV_NAME, csv_data)
    atomic_write_bytes(folder / JSON_NAME, json_data)
    for name, data in audio.items():
        atomic_write_bytes(folder.joinpath(*name.split("/")), data)

    with atomic_path(maestro_cache / ZIP_NAME) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        _zip_entry(archive, f"{DATASET_DIR_NAME}/{CSV_NAME}", csv_data)
        _zip_entry(archive, f"{DATASET_DIR_NAME}/{JSON_NAME}", json_data)
        for name in sorted(audio):
            _zip_entry(archive, f"{DATASET_DIR_NAME}/{name}", audio[name])

    atomic_write_text(
        maestro_cache / "README-MAESTRO-SAMPLE.md",
        "# Sample MAESTRO cache (piano-assets)\n\n"
        f"{LICENCE_NOTE}\n\n"
        f"{len(SAMPLE_RECORDINGS)} recordings in {sorted({r.split for r in SAMPLE_RECORDINGS})}; "
        f"`{ZIP_NAME}` has the official layout (`{DATASET_DIR_NAME}/<year>/<file>.wav`), and "
        f"`{DATASET_DIR_NAME}/` is the same content extracted. MIDI files are not included.\n",
    )
