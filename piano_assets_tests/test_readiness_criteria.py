"""The six gating criteria, judged from hand-built model repos: each passes when its part of the
target state is on disk and fails, naming the cause, when it is not."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import torch

from piano_assets.chopin2021.gate import GATE as CHOPIN2021_GATE
from piano_assets.chopin2021.paths import Chopin2021Paths
from piano_assets.chopin2021.records import ResultRecord, SegmentProvenance, SegmentRecord
from piano_assets.chopin2021.results import Placement, Round
from piano_assets.engine.pipeline import embedding_path
from piano_assets.engine.segment import Segment, write_segment_table
from piano_assets.engine.store import RecordingEmbeddings, save_recording_embeddings
from piano_assets.layout import ModelRepoLayout
from piano_assets.lib.jsonl import write_jsonl
from piano_assets.lib.tier import AudioRecord, RecordingPaths
from piano_assets.maestro import outputs, recordings
from piano_assets.maestro.gate import GATE as MAESTRO_GATE
from piano_assets.maestro.paths import MaestroPaths
from piano_assets.readiness.assets import readiness_defs
from piano_assets.readiness.criteria import (
    CriterionResult,
    PipelineProbe,
    evaluate_readiness,
    layout_matches_target,
    old_plans_removed,
    pipeline_runs,
    render_report,
    stale_data_removed,
    tier_criterion,
)
from piano_assets.reorganize.ops import run_all
from piano_assets.reorganize.pipeline_build import find_cargo
from piano_assets.resources import ModelRepoResource
from piano_assets.sample.synth import piano_notes, wav_bytes
from piano_assets_tests.reorganize_helpers import make_repo

# The first three rows of the real maestro-v3.0.0.csv (one piece, three performances), inline
# so these tests never depend on ../shared being beside the checkout.
MAESTRO_CSV_NAME = "maestro-v3.0.0.csv"
_MAESTRO_COLUMNS = (
    "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration"
)
_MAESTRO_FILES = (
    ("2018", "2018/MIDI-Unprocessed_Chamber3_MID--AUDIO_10_R3_2018_wav--1", "698.661160312"),
    (
        "2008",
        "2008/MIDI-Unprocessed_03_R2_2008_01-03_ORIG_MID--AUDIO_03_R2_2008_wav--2",
        "759.51847125",
    ),
    (
        "2017",
        "2017/MIDI-Unprocessed_066_PIANO066_MID--AUDIO-split_07-07-17_Piano-e_3-02_wav--3",
        "464.649432608",
    ),
)
MAESTRO_ROWS = "\n".join(
    [_MAESTRO_COLUMNS]
    + [
        f"Alban Berg,Sonata Op. 1,train,{year},{stem}.midi,{stem}.wav,{duration}"
        for year, stem, duration in _MAESTRO_FILES
    ]
)
CHOPIN_KEYS = ["s1-alpha-01", "final-beta-01"]
GATES = [CHOPIN2021_GATE, MAESTRO_GATE]


def _passes(_layout: ModelRepoLayout) -> list[str]:
    return []


def _evaluate(
    layout: ModelRepoLayout,
    chopin2021: list[str] | None = None,
    probe: PipelineProbe = _passes,
) -> list[CriterionResult]:
    """All criteria, with the T2 keys registered and every MAESTRO recording registered."""
    paths = MaestroPaths(layout)
    maestro = (
        recordings.load_recordings(paths)["recording_id"].to_list()
        if paths.recordings_table.is_file()
        else []
    )
    registered = {"chopin2021_recordings": chopin2021 or [], "maestro_recordings": maestro}
    return evaluate_readiness(layout, GATES, registered, probe=probe)


def chopin2021_complete(layout: ModelRepoLayout, keys: list[str] | None = None) -> CriterionResult:
    return tier_criterion(3, CHOPIN2021_GATE, layout, keys or [])


def maestro_complete(layout: ModelRepoLayout) -> CriterionResult:
    paths = MaestroPaths(layout)
    keys = (
        recordings.load_recordings(paths)["recording_id"].to_list()
        if paths.recordings_table.is_file()
        else []
    )
    return tier_criterion(4, MAESTRO_GATE, layout, keys)


def _audio_and_segments(paths: RecordingPaths, recording_id: str, segments: int) -> None:
    """A finished audio step (a short WAV and its record) and a segment table."""
    wav = paths.audio(recording_id)
    wav.parent.mkdir(parents=True, exist_ok=True)
    wav.write_bytes(wav_bytes(piano_notes(1.0), 24_000))
    record = AudioRecord(
        recording_id=recording_id,
        tier=paths.tier,
        source_url=f"http://127.0.0.1/{recording_id}",
        source_sha256=None,
        source_bytes=None,
        declared_seconds={},
        converter={},
        audio_file=paths.relative(wav),
        sample_rate=24_000,
        channels=1,
        seconds=1.0,
        bytes=wav.stat().st_size,
        sha256="0" * 64,
    )
    paths.audio_record(recording_id).write_text(record.model_dump_json(), encoding="utf-8")
    write_segment_table(
        paths.segment_table(recording_id),
        [
            Segment(
                segment_id=f"{recording_id}-{i:03d}",
                recording_id=recording_id,
                index=i,
                start_s=30.0 * i,
                end_s=30.0 * (i + 1),
            )
            for i in range(segments)
        ],
    )


def _embed(directory: Path, recording_id: str, segments: int, label: str = "test stand-in") -> None:
    table = [
        Segment(
            segment_id=f"{recording_id}-{i:03d}",
            recording_id=recording_id,
            index=i,
            start_s=30.0 * i,
            end_s=30.0 * (i + 1),
        )
        for i in range(segments)
    ]
    record = RecordingEmbeddings(
        recording_id, table, {"embedder_label": label}, pooled=torch.zeros(segments, 4)
    )
    save_recording_embeddings(embedding_path(directory, recording_id), record)


def add_chopin2021(layout: ModelRepoLayout, keys: list[str]) -> None:
    """The T2 outputs for `keys`: audio, segment table, embeddings, metadata and results."""
    paths = Chopin2021Paths(layout)
    results = [
        ResultRecord(
            performer=f"Performer {key}",
            country="Poland",
            furthest_round=Round.STAGE_I,
            placement=Placement.STAGE_I,
            prize=None,
            ordinal=1,
            laureate=False,
            source="curated",
        )
        for key in keys
    ]
    segments = []
    for key, result in zip(keys, results, strict=True):
        _audio_and_segments(paths.recordings(), key, 1)
        _embed(paths.embeddings_dir, key, 1)
        segments.append(
            SegmentRecord(
                segment_id=f"{key}-000",
                recording_id=key,
                segment_index=0,
                performer=result.performer,
                country=result.country,
                piece="Ballade",
                round=Round.STAGE_I,
                placement=Placement.STAGE_I,
                ordinal=1,
                prize=None,
                segment_start=0.0,
                segment_end=30.0,
                source_url=f"http://127.0.0.1/{key}",
                embedding_file=f"muq_embeddings/{key}.safetensors",
                provenance=SegmentProvenance(
                    video_id=key,
                    video_title=key,
                    results_source="curated",
                    embedder="test stand-in",
                    embedder_is_random=True,
                ),
            )
        )
    write_jsonl(paths.results, results)
    write_jsonl(paths.metadata, segments)


def add_maestro(layout: ModelRepoLayout, rows: int = 3) -> list[str]:
    """A MAESTRO cache of the first `rows` real v3 rows, embedded, with its piece map."""
    paths = MaestroPaths(layout)
    paths.cache.mkdir(parents=True, exist_ok=True)
    lines = MAESTRO_ROWS.splitlines()
    (paths.cache / MAESTRO_CSV_NAME).write_text("\n".join(lines[: rows + 1]) + "\n", "utf-8")
    frame, source = recordings.read_source_metadata(paths, None)
    recordings.write_recordings(paths, frame, source)
    ids = frame["recording_id"].to_list()
    for recording_id in ids:
        _audio_and_segments(paths.recordings(), recording_id, 2)
        _embed(paths.embeddings_dir, recording_id, 2)
    outputs.build_piece_map_stage(paths)
    return ids


@pytest.fixture(scope="module")
def reorganized(tmp_path_factory: pytest.TempPathFactory) -> ModelRepoLayout:
    """The sample repo after the real reorganization (read-only for the tests that share it)."""
    layout = make_repo(tmp_path_factory.mktemp("reorganized"))
    run_all(layout)
    return layout


@pytest.fixture
def complete(reorganized: ModelRepoLayout, tmp_path: Path) -> ModelRepoLayout:
    """A copy of the reorganized repo with T2 and T3 outputs: everything done."""
    root = tmp_path / "complete"
    shutil.copytree(reorganized.root, root, symlinks=True)
    layout = ModelRepoLayout(root)
    add_chopin2021(layout, CHOPIN_KEYS)
    add_maestro(layout)
    return layout


def _failing(results: list[CriterionResult]) -> list[int]:
    return [r.number for r in results if not r.passed]


def test_a_complete_repo_passes_all_six_and_the_report_says_complete(
    complete: ModelRepoLayout,
) -> None:
    results = _evaluate(complete, CHOPIN_KEYS)

    assert [r.number for r in results] == [1, 2, 3, 4, 5, 6]
    assert _failing(results) == [], [r.problems for r in results]
    assert results[2].counts["recordings"] == 2
    assert results[2].counts["embedding_files"] == 2
    assert results[3].counts == {"recordings": 3, "embedded": 3, "pieces": 1}
    report = render_report(results)
    assert report.startswith("# Readiness: COMPLETE (6/6 criteria pass)")
    assert "[chopin2021_metadata](/assets/chopin2021_metadata)" in report
    assert "[superseded_plans_removed](/assets/superseded_plans_removed)" in report
    assert "FAIL" not in report
    # Which MuQ made the embeddings is read from their provenance and stated.
    assert results[2].embedders == {"test stand-in": 2}
    assert results[3].embedders == {"test stand-in": 3}
    assert "MuQ: test stand-in: 5 embedding files" in report
    assert "RANDOM WEIGHTS" not in report


def test_the_report_names_a_random_weight_muq(complete: ModelRepoLayout) -> None:
    label = "RANDOM-WEIGHT MuQ (tiny, config abc) - NOT real embeddings"
    _embed(Chopin2021Paths(complete).embeddings_dir, CHOPIN_KEYS[0], 1, label)

    results = _evaluate(complete, CHOPIN_KEYS)

    assert results[2].embedders == {label: 1, "test stand-in": 1}
    report = render_report(results)
    assert f"MuQ: {label}: 1 embedding files **(RANDOM WEIGHTS: not for training)**" in report


def test_before_the_reorganization_every_criterion_fails(tmp_path: Path) -> None:
    layout = make_repo(tmp_path, use_git=False)

    results = _evaluate(layout)

    assert _failing(results) == [1, 2, 3, 4, 5, 6]
    by_number = {r.number: r for r in results}
    assert any("model/tools/masterclass-pipeline" in p for p in by_number[1].problems)
    assert any(p.startswith("tools: still there") for p in by_number[2].problems)
    assert any("percepiano_pianoteq_rendered: still there" in p for p in by_number[5].problems)
    assert any("model-improvement-design.md: still there" in p for p in by_number[6].problems)
    report = render_report(results)
    assert "NOT READY (0/6 criteria pass)" in report
    assert "## What is not passing" in report


def test_criterion_1_fails_when_the_pipeline_does_not_build(complete: ModelRepoLayout) -> None:
    assert pipeline_runs(complete, _passes).passed
    result = pipeline_runs(complete, lambda _layout: ["cargo build failed (exit 101)"])
    assert not result.passed
    assert result.problems == ("cargo build failed (exit 101)",)

    (complete.pipeline / "Cargo.toml").unlink()
    moved_away = pipeline_runs(complete, _passes)
    assert not moved_away.passed
    assert "model/tools/masterclass-pipeline/Cargo.toml: file missing" in moved_away.problems


@pytest.mark.skipif(find_cargo() is None, reason="cargo is not installed")
def test_criterion_1_builds_and_runs_the_moved_pipeline_with_cargo(
    reorganized: ModelRepoLayout,
) -> None:
    result = pipeline_runs(reorganized)
    assert result.passed, result.problems
    assert result.counts["source_files"] >= 1


def test_criterion_2_wants_the_tier_folders_and_the_moved_data(complete: ModelRepoLayout) -> None:
    assert layout_matches_target(complete, GATES).passed
    shutil.rmtree(complete.maestro_cache / "muq_embeddings")
    shutil.rmtree(complete.pipeline_data / "transcripts")

    result = layout_matches_target(complete, GATES)

    assert not result.passed
    assert "model/data/maestro_cache/muq_embeddings: folder missing" in result.problems
    assert "model/data/masterclass_pipeline/transcripts: folder missing" in result.problems


def test_criterion_2_notes_an_absent_kept_folder_without_failing(
    complete: ModelRepoLayout,
) -> None:
    shutil.rmtree(complete.data / "asap_cache", ignore_errors=True)
    result = layout_matches_target(complete, GATES)
    assert result.passed
    assert any(note.startswith("model/data/asap_cache") for note in result.notes)


def test_criterion_3_names_the_recording_without_embeddings(complete: ModelRepoLayout) -> None:
    paths = Chopin2021Paths(complete)
    assert chopin2021_complete(complete, CHOPIN_KEYS).passed
    embedding_path(paths.embeddings_dir, "final-beta-01").unlink()

    result = chopin2021_complete(complete, CHOPIN_KEYS)

    assert not result.passed
    assert any("final-beta-01 (embeddings)" in p for p in result.problems)
    assert result.counts["embedding_files"] == 1
    # A registered recording that never reached metadata.jsonl is incomplete too.
    more = chopin2021_complete(complete, [*CHOPIN_KEYS, "s2-gamma-01"])
    assert any("s2-gamma-01 (audio, segments, embeddings)" in p for p in more.problems)


def test_criterion_3_fails_on_a_missing_or_broken_metadata_file(
    complete: ModelRepoLayout,
) -> None:
    paths = Chopin2021Paths(complete)
    paths.metadata.write_text(paths.metadata.read_text() + '{"segment_id": 3}\n')
    broken = chopin2021_complete(complete, CHOPIN_KEYS)
    assert not broken.passed
    assert any("metadata.jsonl" in p for p in broken.problems)

    paths.metadata.unlink()
    missing = chopin2021_complete(complete, CHOPIN_KEYS)
    assert "model/data/competition_cache/chopin2021/metadata.jsonl is missing" in missing.problems


def test_criterion_3_without_registered_recordings_fails(complete: ModelRepoLayout) -> None:
    result = chopin2021_complete(complete, [])
    assert not result.passed
    assert any("no recordings are registered" in p for p in result.problems)


def test_criterion_4_fails_without_embeddings_or_piece_map(complete: ModelRepoLayout) -> None:
    paths = MaestroPaths(complete)
    ids = recordings.load_recordings(paths)["recording_id"].to_list()
    embedding_path(paths.embeddings_dir, ids[0]).unlink()
    paths.piece_map_table.unlink()

    result = maestro_complete(complete)

    assert not result.passed
    assert any(
        p.startswith(f"1 of 3 recordings incomplete: {ids[0]} (embeddings)")
        for p in result.problems
    )
    assert "model/data/maestro_cache/piece_performer_map.parquet is missing" in result.problems
    paths.recordings_table.unlink()
    assert "materialize maestro_recordings first" in maestro_complete(complete).problems[0]


def test_criterion_5_fails_while_stale_data_is_back(complete: ModelRepoLayout) -> None:
    assert stale_data_removed(complete).passed
    complete.stale_pianoteq.mkdir()

    result = stale_data_removed(complete)

    assert not result.passed
    assert "model/data/percepiano_pianoteq_rendered: still there" in result.problems


def test_criterion_5_fails_when_a_removed_file_is_lost(complete: ModelRepoLayout) -> None:
    trashed = [p for p in complete.trash.rglob("*") if p.is_file() and "pianoteq" in str(p)]
    assert trashed, "the reorganization trashed the rendered audio"
    trashed[0].unlink()

    result = stale_data_removed(complete)

    assert not result.passed
    assert any("neither in the trash nor anywhere else" in p for p in result.problems)


def test_criterion_6_fails_while_an_old_plan_is_there(complete: ModelRepoLayout) -> None:
    assert old_plans_removed(complete).passed
    design, _implementation = complete.superseded_plans
    design.write_text("# old plan\n", encoding="utf-8")

    result = old_plans_removed(complete)

    assert not result.passed
    assert f"{design.relative_to(complete.root).as_posix()}: still there" in result.problems


# -- wiring: the asset and its checks, through dagster.materialize ------------------------------
def _materialize_report(
    layout: ModelRepoLayout, registered: list[str]
) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("chopin2021_recordings", registered)
    paths = MaestroPaths(layout)
    if paths.recordings_table.is_file():
        maestro = recordings.load_recordings(paths)["recording_id"].to_list()
        instance.add_dynamic_partitions("maestro_recordings", maestro)
    return dg.materialize(
        readiness_defs(GATES).assets or [],
        instance=instance,
        resources={"model_repo": ModelRepoResource(root=str(layout.root))},
        raise_on_error=False,
    )


@pytest.mark.skipif(find_cargo() is None, reason="criterion 1 builds the pipeline with cargo")
def test_the_report_asset_succeeds_on_a_complete_repo_with_both_checks_passing(
    complete: ModelRepoLayout,
) -> None:
    result = _materialize_report(complete, CHOPIN_KEYS)

    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {name: e.passed for name, e in checks.items()} == {
        "target_layout_holds": True,
        "all_criteria_pass": True,
    }
    (materialization,) = result.asset_materializations_for_node("readiness_report")
    assert materialization.metadata["criteria_passed"].value == 6
    assert "COMPLETE (6/6" in materialization.metadata["report"].value


def test_a_failing_report_still_records_which_criteria_fail_on_its_checks(
    complete: ModelRepoLayout,
) -> None:
    shutil.rmtree(MaestroPaths(complete).embeddings_dir)

    # One registered recording has no outputs at all.
    result = _materialize_report(complete, [*CHOPIN_KEYS, "s2-gamma-01"])

    assert not result.success
    assert not result.asset_materializations_for_node("readiness_report")
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failing = checks["all_criteria_pass"]
    assert failing.passed is False
    assert "3. T2 metadata" in failing.description
    assert "4. T3 embeddings" in failing.description
    # The tiers' folders are part of the target layout: the missing T3 one fails criterion 2.
    assert checks["target_layout_holds"].passed is False
    assert (
        "maestro_cache/muq_embeddings: folder missing" in checks["target_layout_holds"].description
    )
