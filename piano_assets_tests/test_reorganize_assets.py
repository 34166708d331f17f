"""Group `reorganize` through Dagster: `dagster.materialize` on freshly generated samples."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from piano_assets.reorganize import checks as reorganize_checks_module
from piano_assets.reorganize.assets import (
    plan_reorganization,
    purge_reorganize_trash,
    reorganize_assets,
    reorganize_jobs,
    restore_reorganize_trash,
)
from piano_assets.reorganize.checks import reorganize_checks
from piano_assets.reorganize.pipeline_build import find_cargo
from piano_assets.reorganize.records import Step
from piano_assets.resources import ModelRepoResource

from .reorganize_helpers import make_repo, tree, tree_with_times

GROUP = [*reorganize_assets, *reorganize_checks]


def _materialize(root: Path, *, dry_run: bool = False, raise_on_error: bool = True):
    return dg.materialize(
        GROUP,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"model_repo": ModelRepoResource(root=str(root), dry_run=dry_run)},
        raise_on_error=raise_on_error,
    )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], object]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def _observations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            observation = event.event_specific_data.asset_observation  # type: ignore[union-attr]
            found[observation.asset_key.to_user_string()] = observation.metadata
    return found


def _materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    return {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }


def test_group_wiring() -> None:
    defs = dg.Definitions(
        assets=reorganize_assets,
        asset_checks=reorganize_checks,
        jobs=reorganize_jobs,
        resources={"model_repo": ModelRepoResource(root="/nonexistent", dry_run=True)},
    )
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.materializable_asset_keys}
    assert keys == {step.value for step in Step}
    for key in keys:
        assert graph.get(dg.AssetKey(key)).group_name == "reorganize"
    removed = graph.get(dg.AssetKey("legacy_tools_removed"))
    assert {k.to_user_string() for k in removed.parent_keys} == {
        "masterclass_pipeline_code",
        "masterclass_pipeline_data",
    }
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert len(checks) == 11
    assert ("masterclass_pipeline_code", "pipeline_builds_and_runs") in checks


def test_dry_run_records_plans_as_observations_and_touches_nothing(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    before = tree_with_times(layout.root)
    result = _materialize(layout.root, dry_run=True)
    assert result.success
    assert tree_with_times(layout.root) == before
    assert not result.get_asset_materialization_events()
    observed = _observations(result)
    # legacy_tools_removed waits for its upstream moves: run plan_reorganization for all five.
    assert set(observed) == {
        "masterclass_pipeline_code",
        "masterclass_pipeline_data",
        "stale_data_removed",
        "superseded_plans_removed",
    }
    data_plan = observed["masterclass_pipeline_data"]["plan"].value  # type: ignore[union-attr]
    assert "`tools/masterclass-pipeline/data/audio/mc-0001.wav`" in data_plan
    assert "64.0 KB" in data_plan
    assert observed["stale_data_removed"]["planned_deletions"].value == 7  # type: ignore[union-attr]


def test_plan_job_observes_all_five_steps_and_touches_nothing(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    before = tree_with_times(layout.root)
    result = plan_reorganization.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"model_repo": ModelRepoResource(root=str(layout.root), dry_run=False)},
    )
    assert result.success
    assert tree_with_times(layout.root) == before
    observed = _observations(result)
    assert set(observed) == {step.value for step in Step}
    legacy = observed["legacy_tools_removed"]
    assert legacy["planned_deletions"].value == 22  # type: ignore[union-attr]
    assert "blockers" in legacy  # nothing is copied yet, so nothing is verified yet


def test_a_conflict_fails_the_step_naming_both_paths(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    theirs = layout.pipeline / "Cargo.toml"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("[package]\nname = 'theirs'\n", encoding="utf-8")
    result = _materialize(layout.root, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    messages = " ".join(str(e.event_specific_data.error) for e in failures)  # type: ignore[union-attr]
    assert str(theirs) in messages
    assert str(layout.legacy_pipeline / "Cargo.toml") in messages
    assert theirs.read_text(encoding="utf-8") == "[package]\nname = 'theirs'\n"
    assert layout.legacy_tools.is_dir()


def test_missing_cargo_is_a_warning_never_a_silent_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = make_repo(tmp_path)
    monkeypatch.setattr(reorganize_checks_module, "find_cargo", lambda: None)
    result = _materialize(layout.root)
    evaluation = _evaluations(result)[("masterclass_pipeline_code", "pipeline_builds_and_runs")]
    assert evaluation.passed is False  # type: ignore[attr-defined]
    assert evaluation.severity == dg.AssetCheckSeverity.WARN  # type: ignore[attr-defined]
    assert "cargo was not found" in evaluation.description  # type: ignore[attr-defined]


@pytest.mark.skipif(find_cargo() is None, reason="needs cargo to build the pipeline")
def test_pipeline_check_fails_cleanly_when_only_the_code_has_moved(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    code = next(
        a
        for a in reorganize_assets
        if Step.PIPELINE_CODE.value in {k.to_user_string() for k in a.keys}
    )
    result = dg.materialize(
        [code, *reorganize_checks],
        selection=[Step.PIPELINE_CODE.value],
        instance=dg.DagsterInstance.ephemeral(),
        resources={"model_repo": ModelRepoResource(root=str(layout.root))},
        raise_on_error=False,
    )
    evaluation = _evaluations(result)[("masterclass_pipeline_code", "pipeline_builds_and_runs")]
    assert evaluation.passed is False  # type: ignore[attr-defined]
    assert "materialize masterclass_pipeline_data" in evaluation.description  # type: ignore[attr-defined]
    assert (layout.pipeline / "Cargo.toml").is_file()


def test_purge_needs_confirmation_and_restore_undoes(tmp_path: Path) -> None:
    layout = make_repo(tmp_path)
    original = tree(layout.root)
    _materialize(layout.root)
    resources = {"model_repo": ModelRepoResource(root=str(layout.root), dry_run=False)}
    trashed = tree(layout.trash)
    unconfirmed = purge_reorganize_trash.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), resources=resources, raise_on_error=False
    )
    assert not unconfirmed.success
    assert tree(layout.trash) == trashed

    restore_reorganize_trash.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources=resources,
        run_config={
            "ops": {"restore_reorganize_trash_op": {"config": {"steps": ["stale_data_removed"]}}}
        },
    )
    restored = {p: d for p, d in original.items() if p.startswith("model/data/percepiano_pian")}
    assert restored and all(tree(layout.root).get(p) == d for p, d in restored.items())

    purge_reorganize_trash.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources=resources,
        run_config={"ops": {"purge_reorganize_trash_op": {"config": {"confirm": True}}}},
    )
    assert [p for p in tree(layout.trash) if p != "manifest.jsonl"] == []


@pytest.mark.slow
def test_group_on_a_freshly_generated_sample(tmp_path: Path) -> None:
    from piano_assets.sample.repo import ensure_sample_repo

    root = ensure_sample_repo(tmp_path / "sample")
    first = _materialize(root)
    assert first.success
    evaluations = _evaluations(first)
    assert len(evaluations) == 11
    cargo_missing = find_cargo() is None
    for (asset, check), evaluation in evaluations.items():
        if check == "pipeline_builds_and_runs" and cargo_missing:
            assert evaluation.severity == dg.AssetCheckSeverity.WARN  # type: ignore[attr-defined]
            continue
        assert evaluation.passed, (asset, check, evaluation.description)  # type: ignore[attr-defined]
    materialized = _materialized(first)
    assert materialized["masterclass_pipeline_data"]["copied"].value == 15  # type: ignore[union-attr]
    assert materialized["masterclass_pipeline_code"]["rewritten"].value == 1  # type: ignore[union-attr]
    state = tree(root)

    second = _materialize(root)
    assert second.success
    assert all(e.passed for e in second.get_asset_check_evaluations())
    again = _materialized(second)
    assert len(again) == 5
    assert all(meta["copied"].value == 0 for meta in again.values())  # type: ignore[union-attr]
    assert all(meta["trashed"].value == 0 for meta in again.values())  # type: ignore[union-attr]
    changed = {p for p in set(state) | set(tree(root)) if state.get(p) != tree(root).get(p)}
    assert all(p.startswith(".piano_assets/reorganize/") for p in changed), changed
