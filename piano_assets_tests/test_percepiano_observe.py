from __future__ import annotations

from pathlib import Path

import dagster as dg

from piano_assets.percepiano.assets import observed_caches
from piano_assets.percepiano.observe import summarize_folder
from piano_assets.resources import ModelRepoResource


def test_summary_counts_and_fingerprint_changes(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"x" * 10)
    (folder / "sub" / "b.bin").write_bytes(b"y" * 5)
    (folder / ".tmp-c.bin.123").write_bytes(b"half")
    first = summarize_folder(folder)
    assert (first.files, first.bytes) == (2, 15)
    (folder / "sub" / "b.bin").write_bytes(b"y" * 6)
    assert summarize_folder(folder).data_version != first.data_version
    assert summarize_folder(tmp_path / "missing").data_version == "missing"


def test_platform_outputs_do_not_change_the_input_version(tmp_path: Path) -> None:
    folder = tmp_path / "maestro_cache"
    folder.mkdir()
    (folder / "maestro-v3.0.0.csv").write_text("a,b\n")
    before = summarize_folder(folder, ("muq_embeddings",))
    (folder / "muq_embeddings").mkdir()
    (folder / "muq_embeddings" / "r.safetensors").write_bytes(b"1")
    assert summarize_folder(folder, ("muq_embeddings",)) == before


def test_kept_caches_are_observable_and_never_materializable() -> None:
    keys = {asset.key.to_user_string() for asset in observed_caches}
    assert {"percepiano_cache", "maestro_cache", "composite_labels"} <= keys
    defs = dg.Definitions(assets=observed_caches, resources={"model_repo": ModelRepoResource()})
    graph = defs.resolve_asset_graph()
    assert not (graph.materializable_asset_keys & {dg.AssetKey(k) for k in keys})
