"""The code location's graph, as a reviewed snapshot: every asset key (group, partitions, parents,
backfill policy, step, pool), check, sensor and job. An accidental change to the graph fails here
and shows in review; an intended one is recorded with

    PIANO_ASSETS_UPDATE_SNAPSHOT=1 .venv/bin/pytest piano_assets_tests/test_definitions_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg

from piano_assets.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _partitions(node: Any) -> str | None:
    partitions_def = node.partitions_def
    if partitions_def is None:
        return None
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return f"dynamic:{partitions_def.name}"
    return type(partitions_def).__name__


def describe(definitions: dg.Definitions) -> dict[str, Any]:
    graph = definitions.resolve_asset_graph()
    assets: dict[str, Any] = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        policy = node.backfill_policy
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kind": "materializable" if node.is_materializable else "observable/external",
            "partitions": _partitions(node),
            "parents": sorted(parent.to_user_string() for parent in node.parent_keys),
            "backfill_policy": (
                None
                if policy is None
                else f"{policy.policy_type.value}:{policy.max_partitions_per_run}"
            ),
            "checks": sorted(check.name for check in node.check_keys),
        }
    steps: dict[str, Any] = {}
    for assets_def in graph.assets_defs:
        node_def = assets_def.node_def
        ops = node_def.node_defs if isinstance(node_def, dg.GraphDefinition) else [node_def]
        for op in ops:
            if isinstance(op, dg.OpDefinition):
                steps[op.name] = {"pool": op.pool, "tags": dict(sorted(op.tags.items()))}
    return {
        "assets": assets,
        "steps": dict(sorted(steps.items())),
        "sensors": {
            s.name: s.default_status.value
            for s in sorted(definitions.sensors or [], key=lambda s: s.name)
        },
        "jobs": sorted(job.name for job in definitions.jobs or []),
        "resources": sorted((definitions.resources or {}).keys()),
    }


def test_the_graph_matches_its_reviewed_snapshot() -> None:
    current = describe(defs)
    text = json.dumps(current, indent=1, sort_keys=True) + "\n"
    if os.environ.get("PIANO_ASSETS_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot at {SNAPSHOT}: record one (see this file's docstring)"
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert current == recorded, (
        "the code location's graph changed; review the difference and, if intended, record it "
        "with PIANO_ASSETS_UPDATE_SNAPSHOT=1 (see this file's docstring)"
    )
