"""Eager automation is off by default, and `PIANO_ASSETS_AUTOMATION=eager` turns it on for the
tiers and the report, never for the reorganize group's moves and deletes."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json
from piano_assets.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    key.to_user_string(): graph.get(key).automation_condition is not None
    for key in graph.materializable_asset_keys
}))
"""


def _automated(setting: str | None) -> dict[str, bool]:
    env = {k: v for k, v in os.environ.items() if k != "PIANO_ASSETS_AUTOMATION"}
    if setting is not None:
        env["PIANO_ASSETS_AUTOMATION"] = setting
    # A fresh interpreter: the setting is read when the code location is imported.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("setting", [None, "off"])
def test_no_asset_is_automated_by_default(setting: str | None) -> None:
    automated = _automated(setting)
    assert automated, "no materializable assets found"
    assert not any(automated.values()), [k for k, v in automated.items() if v]


def test_eager_covers_the_tiers_and_the_report_but_never_the_reorganization() -> None:
    automated = _automated("eager")
    reorganize = {
        "masterclass_pipeline_code",
        "masterclass_pipeline_data",
        "legacy_tools_removed",
        "stale_data_removed",
        "superseded_plans_removed",
    }
    assert reorganize <= set(automated)
    assert not any(automated[key] for key in reorganize)
    for key in (
        "chopin2021_muq_embeddings",
        "chopin2021_metadata",
        "maestro_muq_embeddings",
        "maestro_piece_performer_map",
        "readiness_report",
    ):
        assert automated[key], key
