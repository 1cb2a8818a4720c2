"""``harness battery`` through the real command line, on a restricted plan: cold, warm, and refused.

bm25s and bm25-flat on beir/scifact, and all-MiniLM-L6-v2 on sts/sts16 (1,186 pairs), with BM25's
pairs with STS named as skipped. One invocation runs the cold pass on a new cache folder and the warm
pass on it; a second, in a fresh process, runs the warm pass alone. The numbers are held to
``tests/reference_scores.toml`` (the same file ``test_reference_scores.py`` reads), the warm pass
must reuse the cache (its results record ``index_cached`` / ``encode_cached``, never a build or an
encode) and score exactly as the cold one. Wall times are printed, never asserted.
"""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path

import pytest
from cli_helpers import run_harness

from harness import battery, cli, registry
from harness.results import ResultsFile, read_results

REFERENCE_FILE = Path(__file__).resolve().parents[1] / "reference_scores.toml"
REFERENCE = tomllib.loads(REFERENCE_FILE.read_text())
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
EXPECTED_ROWS = {
    ("bm25s", "beir/scifact"): "ndcg@10",
    ("bm25-flat", "beir/scifact"): "ndcg@10",
    ("all-MiniLM-L6-v2", "sts/sts16"): "spearman",
}
PLAN = ["--models", "bm25s,bm25-flat", "--tasks", "beir/scifact,sts/sts16,all-MiniLM-L6-v2:sts/sts16"]


def table_rows(stdout: str) -> dict[tuple[str, str], dict[str, str]]:
    """The summary table's body rows, keyed by (model, task): column -> cell as printed."""
    header: list[str] = []
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("┃ model"):
            header = [cell.strip() for cell in line.strip("┃").split("┃")]
        elif header and line.startswith("│"):
            row = dict(zip(header, (cell.strip() for cell in line.strip("│").split("│")), strict=True))
            rows[row["model"], row["task"]] = row
    return rows


def by_pass(folder: Path) -> dict[str, list[ResultsFile]]:
    """The results files written, cold first (each pass writes one per model and suite run)."""
    files = sorted((read_results(path) for path in folder.glob("*/*.json")), key=lambda r: r.created_at)
    return {"cold": files[: len(files) // 2], "warm": files[len(files) // 2 :]}


def phases(files: list[ResultsFile], model_id: str) -> set[str]:
    (found,) = [run for run in files if run.model.id == model_id]
    (result,) = found.results
    return set(result.timings_s)


@pytest.mark.lucene
@pytest.mark.slow
def test_battery_cold_then_warm_meets_the_references_and_reuses_the_cache(
    tmp_path: Path, data_root: Path
) -> None:
    cache, results_dir, db = tmp_path / "cache", tmp_path / "results", tmp_path / "h.sqlite"
    common = [
        *PLAN,
        "--data-dir",
        data_root,
        "--db",
        f"sqlite:///{db}",
        "--results-dir",
        results_dir,
        "--reference",
        REFERENCE_FILE,
        "--cache-dir",
        cache,
    ]
    done = run_harness("battery", *common)
    print(done.stdout[-4000:])
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]

    rows = table_rows(done.stdout)
    assert set(rows) == set(EXPECTED_ROWS)
    for (model, task), metric in EXPECTED_ROWS.items():
        row = rows[model, task]
        expected = REFERENCE[model][task][metric]
        assert row["metric"] == metric and row["match"] == "yes", row
        assert row["reference"].startswith(f"{expected:.4f} ± "), row
        assert abs(float(row["value"]) - expected) <= REFERENCE[model][task]["tolerance"]
        assert float(row["cold s"]) > 0 and float(row["warm s"]) >= 0, "seconds of both passes"
    assert rows["bm25-flat", "beir/scifact"]["cached (last pass)"] == "index_cached"
    assert rows["all-MiniLM-L6-v2", "sts/sts16"]["cached (last pass)"] == "encode_cached"
    for model in ("bm25s", "bm25-flat"):
        reason = f"{model} (sparse) cannot run the sts suite: it needs Encoder"
        assert f"skipped: {model} on sts: {reason}" in done.stdout
    for line in ("cold pass: ", "warm pass: ", "battery wall time: cold "):
        assert line in done.stdout

    files = by_pass(results_dir)
    assert [len(files["cold"]), len(files["warm"])] == [3, 3]
    for cold, warm in zip(
        sorted(files["cold"], key=lambda r: r.model.id),
        sorted(files["warm"], key=lambda r: r.model.id),
        strict=True,
    ):
        assert cold.model.id == warm.model.id and cold.origin == "local"
        assert [r.metrics for r in cold.results] == [r.metrics for r in warm.results]
        for result in cold.results:
            assert result.inputs.verified
            name = "all-MiniLM-L6-v2" if cold.model.id == MINILM_ID else cold.model.id
            entry = REFERENCE[name][result.task]
            for metric, expected in entry.items():
                if metric not in {"source", "why", "tolerance"}:
                    assert abs(result.metrics[metric] - expected) <= entry["tolerance"], (name, metric)
    # cold built and encoded; warm reused the Lucene index and every embedding
    assert {"index", "search"} <= phases(files["cold"], "bm25-flat")
    assert "index_cached" in phases(files["warm"], "bm25-flat")
    assert "index" not in phases(files["warm"], "bm25-flat")
    assert "encode" in phases(files["cold"], MINILM_ID)
    assert "encode_cached" in phases(files["warm"], MINILM_ID)
    assert "encode" not in phases(files["warm"], MINILM_ID)
    assert (cache / "lucene").is_dir() and (cache / "embeddings").is_dir()
    with sqlite3.connect(db) as connection:
        (stored,) = connection.execute("select count(*) from runs").fetchone()
    assert stored == 6

    again = run_harness("battery", *common, "--pass", "warm")  # a fresh process on the filled cache
    print(again.stdout[-2500:])
    assert again.returncode == 0, again.stderr[-3000:]
    warm_rows = table_rows(again.stdout)
    assert {key: row["value"] for key, row in warm_rows.items()} == {
        key: row["value"] for key, row in rows.items()
    }
    assert all(row["match"] == "yes" and "cold s" not in row for row in warm_rows.values())
    assert warm_rows["all-MiniLM-L6-v2", "sts/sts16"]["cached (last pass)"] == "encode_cached"
    assert "warm pass: " in again.stdout and "battery wall time" not in again.stdout

    refused = run_harness("battery", *common, "--pass", "cold")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"harness: --cache-dir: {cache} is not an empty folder: a cold pass needs an empty cache"
    ]
    assert len(list(results_dir.glob("*/*.json"))) == 9  # 6 from the first command, 3 from the second


def test_the_default_plan_is_the_reference_battery_named_from_the_registry() -> None:
    plan = battery.plan()
    assert plan.models == ("bm25-flat", "bm25s", "all-MiniLM-L6-v2")
    assert all(model in registry.MODELS for model in plan.models)
    assert {(job.suite, job.datasets) for job in plan.jobs} == {
        ("beir", ("scifact",)),
        ("sts", None),
        ("glue", None),
    }
    assert len(plan.jobs) == 9
    narrowed = battery.plan(["bm25s"], ["sts/sts16", "sts/stsb", "beir"])
    assert [(job.suite, job.datasets) for job in narrowed.jobs] == [
        ("sts", ("sts16", "stsb")),
        ("beir", None),
    ]
    assert battery.plan(["bm25s"], ["sts/sts16", "sts"]).jobs[0].datasets is None  # the suite wins
    qualified = battery.plan(["bm25s"], ["beir/scifact", "all-MiniLM-L6-v2:sts/sts16"])
    assert [(job.model, job.suite, job.datasets) for job in qualified.jobs] == [
        ("bm25s", "beir", ("scifact",)),
        ("all-MiniLM-L6-v2", "sts", ("sts16",)),
    ]


def test_the_project_reference_file_reads(data_root: Path) -> None:
    references = battery.read_references(REFERENCE_FILE)
    assert references["bm25-flat"]["beir/scifact"].expected["ndcg@10"] == 0.6789
    assert references["all-MiniLM-L6-v2"]["sts/sts16"].tolerance == 0.005


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--models", "bm25-nope"], "harness: --models: unknown model 'bm25-nope'; known: "),
        (["--tasks", "nope"], "harness: --tasks: unknown suite 'nope'; known: "),
        (["--tasks", "sts/nope"], "harness: --tasks: "),
    ],
)
def test_a_bad_plan_is_one_line_and_exit_2_before_anything_runs(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    code = cli.main(["battery", *args, "--data-dir", str(data_root), "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(line), err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            '[bm25s."beir/scifact"]\nsource = "s"\nwhy = "w"\n"ndcg@10" = 0.6\n',
            "bm25s.beir/scifact.tolerance",
        ),
        (
            '[bm25s."beir/scifact"]\nsource = "s"\nwhy = "w"\ntolerance = 0.01\n"ndcg@10" = "high"\n',
            "bm25s.beir/scifact.ndcg@10",
        ),
        ("[bm25s\n", ""),
    ],
)
def test_a_bad_reference_file_is_one_line_naming_file_and_field(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    bad = tmp_path / "ref.toml"
    bad.write_text(text)
    code = cli.main(
        [
            "battery",
            "--reference",
            str(bad),
            "--data-dir",
            str(data_root),
            "--results-dir",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"harness: {bad}: {field}"), err
    assert not (tmp_path / "r").exists()
