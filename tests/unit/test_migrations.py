"""Schema 1 -> 2: the four v1 reference files (frozen in tests/fixtures/results-v1) keep their meaning.

The fixtures are the reference runs committed at e57ec56, byte for byte. Their migrated form is
committed under results/ (same runs, schema 2), so these tests also tie the two together.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness import store
from harness.errors import InputError
from harness.results import SCHEMA_VERSION, digest, parse_results, read_results, read_versioned
from harness.results.migrations import MIGRATIONS, v1_to_v2
from harness.submit import check, ingest_files

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "results-v1").glob("*.json"))
RESULTS = Path(__file__).parent.parent.parent / "results"


def test_the_four_v1_reference_files_are_frozen_here() -> None:
    assert [f.stem for f in FIXTURES] == [
        "bm25-flat",
        "bm25-multifield",
        "bm25s",
        "sentence-transformers__all-MiniLM-L6-v2",
    ]
    for fixture in FIXTURES:
        assert json.loads(fixture.read_bytes())["schema_version"] == 1


def test_every_version_below_the_current_one_has_a_migration() -> None:
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.stem)
def test_a_v1_file_migrates_with_the_same_meaning(fixture: Path) -> None:
    old = json.loads(fixture.read_bytes())
    migrated, version = read_versioned(fixture)
    assert version == 1
    assert migrated.schema_version == 2
    assert migrated.origin == "local"  # every v1 file was written by harness run
    assert migrated.verifications == []
    for key in ("seed", "suite"):
        assert getattr(migrated, key) == old[key]
    assert migrated.model.model_dump(mode="json") == old["model"]
    assert migrated.harness.model_dump(mode="json") == old["harness"]
    (result,) = migrated.results
    (before,) = old["results"]
    assert result.inputs.model_dump(mode="json", exclude={"generator", "seed"}) == before["dataset"]
    assert result.metrics == before["metrics"]
    assert result.per_item is not None
    assert result.per_item.kind == "query"
    assert result.per_item.values == before["per_item"]
    assert result.sizes_bytes == {"index": before["index_bytes"]}
    assert result.timings_s == before["timings_s"]
    assert result.settings == before["settings"]
    assert (result.predictions, result.replicates, result.variant) == (None, [], {})


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.stem)
def test_the_committed_schema_2_file_is_the_migrated_v1_file(fixture: Path) -> None:
    migrated = read_results(fixture)
    committed = RESULTS / fixture.stem / f"beir-{digest(migrated)[:12]}.json"
    assert read_results(committed) == migrated


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.stem)
def test_a_migrated_reference_file_passes_the_submission_checks_against_the_local_data(
    fixture: Path, data_root: Path
) -> None:
    (verdict,) = check(read_results(fixture), fixture.name, data_root)
    assert verdict.verified, verdict.note


def test_migration_is_pure() -> None:
    document = json.loads(FIXTURES[0].read_bytes())
    before = copy.deepcopy(document)
    first = v1_to_v2(document)
    assert document == before
    assert v1_to_v2(document) == first


def test_migration_leaves_what_it_does_not_recognise_to_the_schema() -> None:
    document = json.loads(FIXTURES[0].read_bytes())
    del document["results"][0]["dataset"]
    with pytest.raises(InputError) as caught:
        parse_results(json.dumps(document).encode(), "old.json")
    assert caught.value.field == "results[0].inputs"
    assert "as upgraded from schema_version 1" in caught.value.message
    document["results"] = "not a list"
    with pytest.raises(InputError) as caught:
        parse_results(json.dumps(document).encode(), "old.json")
    assert caught.value.field == "results"


def test_v1_files_ingest_twice_into_a_fresh_database_with_their_scores(tmp_path: Path) -> None:
    """Read from a reference folder, the v1 files (origin ``local`` once migrated) are reference runs."""
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    folder = FIXTURES[0].parent
    try:
        first = ingest_files(engine, FIXTURES, None, folder, tmp_path / "submissions")
        again = ingest_files(engine, FIXTURES, None, folder, tmp_path / "submissions")
        found = store.cells(engine, "beir")
    finally:
        engine.dispose()
    assert first.refused == []
    assert (len(first.ingested), len(first.refused)) == (4, 0)
    assert (len(again.already), len(again.ingested), len(again.updated)) == (4, 0, 0)
    assert {cell.label for cell in found} == {"reference"}
    cells = {cell.model_id: cell.value for cell in found}
    expected = {}
    for fixture in FIXTURES:
        old = json.loads(fixture.read_bytes())
        expected[old["model"]["id"]] = old["results"][0]["metrics"]["ndcg@10"]
    assert cells == expected
    assert cells["bm25-flat"] == pytest.approx(0.6789, abs=5e-5)
