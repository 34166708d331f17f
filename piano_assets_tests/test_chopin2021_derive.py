"""Every stage I pianist: the ones the results lack are derived from the channel's stage I
videos (never guessed), the sample world has such videos, and the curated file cites the
official site and the sources of Marcin Wieczorek's withdrawal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from piano_assets.chopin2021.catalog import build_catalog
from piano_assets.chopin2021.derive import (
    DERIVED_SOURCE,
    UNKNOWN_COUNTRY,
    derive_stage_i_pianists,
    display_name,
)
from piano_assets.chopin2021.results import (
    CompetitionResults,
    Placement,
    Round,
    load_curated,
)

EDITION = "(18th Chopin Competition, Warsaw)"


@dataclass(frozen=True)
class Item:
    video_id: str
    title: str
    url: str = ""
    playlist: str | None = None
    duration_s: float | None = None
    upload_date: str | None = "20211004"

    def __post_init__(self) -> None:
        if not self.url:
            object.__setattr__(self, "url", f"https://www.youtube.com/watch?v={self.video_id}")


LISTING = [
    Item("known", f"JAEYOON LEE – first round {EDITION}"),
    Item("alpha-1", f"ALPHA SAMPLEPIANIST – first round {EDITION}"),
    Item("alpha-2", "Alpha Samplepianist – Ballade in G minor, Op. 23 (first round)"),
    Item("beta", f"SAMPLEPIANIST Beta – first round {EDITION}"),
    Item("variant", f"JAE-YOON LEE – first round {EDITION}"),
    Item("later", f"GAMMA SAMPLEPIANIST – second round {EDITION}"),
    Item(
        "older", "SEONG-JIN CHO – first round (17th Chopin Competition, Warsaw)", upload_date=None
    ),
    Item(
        "session", "The 18th International Fryderyk Chopin Piano Competition (Stage I), session 3"
    ),
    Item("two", f"DELTA SAMPLEPIANIST – EPSILON SAMPLEPIANIST – first round {EDITION}"),
]


def _curated() -> tuple[CompetitionResults, int, int]:
    curated = load_curated()
    counts = curated.stage_counts
    return curated.results(), counts[Round.STAGE_II]["count"], counts[Round.STAGE_I]["count"]


def test_names_are_written_as_a_person_writes_them() -> None:
    assert display_name("BRUCE (XIAOYU) LIU") == "Bruce (Xiaoyu) Liu"
    assert display_name("KUSZLIK Jakub") == "Jakub Kuszlik"
    assert display_name("MARTÍN GARCÍA GARCÍA") == "Martín García García"
    assert display_name("Hyuk Lee") == "Hyuk Lee"


def test_stage_i_pianists_missing_from_the_results_are_derived_citing_their_videos() -> None:
    results, stage_ii, stage_i = _curated()
    derivation = derive_stage_i_pianists(
        LISTING, results, stage_ii_expected=stage_ii, stage_i_expected=stage_i
    )
    assert [p.name for p in derivation.performers] == ["Alpha Samplepianist", "Beta Samplepianist"]
    for performer in derivation.performers:
        assert performer.furthest_round is Round.STAGE_I
        assert performer.placement is Placement.STAGE_I and performer.ordinal == 1
        assert performer.country == UNKNOWN_COUNTRY
        assert "not among the 45 qualifiers to stage II" in (performer.note or "").replace(
            "Not", "not"
        )
    assert derivation.citations["Alpha Samplepianist"] == [
        "https://www.youtube.com/watch?v=alpha-1",
        "https://www.youtube.com/watch?v=alpha-2",
    ]
    rows = {row.performer: row for row in derivation.records()}
    assert rows["Beta Samplepianist"].source == DERIVED_SOURCE
    assert rows["Beta Samplepianist"].citations == ["https://www.youtube.com/watch?v=beta"]
    unresolved = {u.video_id: u.reason for u in derivation.unresolved}
    assert set(unresolved) == {"variant", "later", "two"}
    assert "'Jaeyoon Lee'" in unresolved["variant"]
    assert "only stage I can be derived" in unresolved["later"]
    assert "no single name" in unresolved["two"]


def test_nothing_is_derived_while_the_stage_ii_list_is_incomplete() -> None:
    results, stage_ii, stage_i = _curated()
    fewer = CompetitionResults(
        source="test",
        performers=tuple(p for p in results.performers if p.name != "Arsenii Mun"),
    )
    assert fewer.counts_by_round()[Round.STAGE_II] == stage_ii - 1
    derivation = derive_stage_i_pianists(
        LISTING, fewer, stage_ii_expected=stage_ii, stage_i_expected=stage_i
    )
    assert derivation.performers == []
    reasons = [u.reason for u in derivation.unresolved if u.video_id.startswith("alpha")]
    assert reasons and all("stage II list is not complete (44 of 45" in r for r in reasons)


def test_nothing_is_derived_past_the_official_stage_i_count() -> None:
    results, stage_ii, _ = _curated()
    known = results.counts_by_round()[Round.STAGE_I]
    derivation = derive_stage_i_pianists(
        LISTING, results, stage_ii_expected=stage_ii, stage_i_expected=known + 1
    )
    assert derivation.performers == []
    assert any("would exceed" in u.reason for u in derivation.unresolved)


def test_derived_pianists_become_recordings_of_the_catalog() -> None:
    results, stage_ii, stage_i = _curated()
    derivation = derive_stage_i_pianists(
        LISTING, results, stage_ii_expected=stage_ii, stage_i_expected=stage_i
    )
    build = build_catalog(LISTING, derivation.results_with(results))
    keys = {spec.video_id: spec.recording_id for spec in build.recordings}
    assert keys["alpha-1"] == "s1-samplepianist-alpha-01"
    assert keys["alpha-2"] == "s1-samplepianist-alpha-02"
    assert keys["beta"] == "s1-samplepianist-beta-01"
    spec = next(s for s in build.recordings if s.video_id == "beta")
    assert (spec.placement, spec.ordinal, spec.country) == (Placement.STAGE_I, 1, UNKNOWN_COUNTRY)


# -- the sample world -------------------------------------------------------------------------


def test_the_sample_world_has_stage_i_videos_of_pianists_missing_from_the_curated_file(
    tmp_path: Path,
) -> None:
    from piano_assets.sample.chopin2021_world import build_chopin2021_world
    from piano_assets.sources.ytdlp import YtDlpClient

    world = build_chopin2021_world(tmp_path / "world")
    listing = YtDlpClient(allow_file_urls=True).list_flat(world.chopin2021_channel_url)
    results, stage_ii, stage_i = _curated()
    derivation = derive_stage_i_pianists(
        listing, results, stage_ii_expected=stage_ii, stage_i_expected=stage_i
    )
    assert len(derivation.performers) >= 2
    assert derivation.unresolved == []
    build = build_catalog(listing, derivation.results_with(results))
    matched = {s.video_id: s.recording_id for s in build.recordings}
    assert matched == world.expected_recordings
    derived_keys = {s.recording_id for s in build.recordings if s.performer in derivation.citations}
    assert derived_keys and all(key.startswith("s1-") for key in derived_keys)
    for key in derived_keys:
        assert (
            world.world_dir / "media" / f"{next(v for v, k in matched.items() if k == key)}.wav"
        ).is_file()


# -- the curated file's sources ---------------------------------------------------------------

OFFICIAL = "chopin2020.pl"


def test_the_official_site_is_cited_wherever_it_states_a_fact() -> None:
    curated = load_curated()
    official = {sid for sid, source in curated.sources.items() if OFFICIAL in source.url}
    assert official, "no page of the official site is cited"
    for performer in curated.performers:
        cited = set(performer.citations["furthest_round"])
        if performer.furthest_round.order >= Round.STAGE_II.order:
            # The official list of the 45 qualifiers names them, with their countries.
            assert cited & official, performer.name
            assert set(performer.citations["name"]) & official, performer.name
            assert set(performer.citations["country"]) & official, performer.name
        else:
            assert cited & official, f"{performer.name}: the official list omits them"
    assert set(curated.stage_counts[Round.STAGE_II]["citations"]) & official
    notes = " ".join(curated.notes)
    assert "could not be found" in notes and OFFICIAL in notes


@pytest.mark.parametrize("word", ["withdr", "health"])
def test_wieczorek_withdrawal_is_cited(word: str) -> None:
    curated = load_curated()
    wieczorek = next(p for p in curated.performers if p.name == "Marcin Wieczorek")
    assert wieczorek.furthest_round is Round.STAGE_II
    sources = [curated.sources[sid] for sid in wieczorek.citations["note"]]
    saying = [s for s in sources if word in s.says.lower()]
    assert len(saying) >= 2, [s.url for s in sources]
    assert all(s.url.startswith("http") for s in sources)


# -- wiring: catalog asset -> partitions -> results.jsonl -------------------------------------


def test_catalog_derives_registers_and_results_publish_the_derived_pianists(
    tmp_path: Path,
) -> None:
    import json

    import dagster as dg

    from piano_assets.chopin2021 import outputs
    from piano_assets.chopin2021.assets import chopin2021_results, chopin2021_video_catalog
    from piano_assets.chopin2021.paths import Chopin2021Paths
    from piano_assets.layout import ModelRepoLayout
    from piano_assets.sample.chopin2021_world import build_chopin2021_world
    from piano_assets_tests.support import offline_resources

    root = tmp_path / "repo"
    root.mkdir()
    world = build_chopin2021_world(tmp_path / "world")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [chopin2021_results, chopin2021_video_catalog],
        instance=instance,
        resources=offline_resources(root, world),
    )
    assert result.success
    registered = set(instance.get_dynamic_partitions("chopin2021_recordings"))
    assert {"s1-samplepianist-alpha-01", "s1-samplepianist-beta-01"} <= registered
    (catalog,) = result.asset_materializations_for_node("chopin2021_video_catalog")
    assert "Alpha Samplepianist" in catalog.metadata["derived_stage_i_pianists"].value

    paths = Chopin2021Paths(ModelRepoLayout(root.resolve()))
    outputs.write_metadata(paths, [])  # no embeddings yet: results.jsonl all the same
    rows = [json.loads(line) for line in paths.results.read_text().splitlines()]
    by_name = {row["performer"]: row for row in rows}
    assert len(rows) == len(load_curated().performers) + 2
    beta = by_name["Beta Samplepianist"]
    assert (beta["source"], beta["furthest_round"], beta["ordinal"]) == ("derived", "stage_i", 1)
    assert beta["citations"] == [
        (world.world_dir / "media" / "c21-samplepianist-beta-s1.wav").as_uri()
    ]
