"""``harness score RUN --dataset NAME --model-id ID``: a run ranked by another system, scored here.

A TREC run made anywhere (Anserini, Vespa, a faiss script) is read strictly (``results.runs``),
scored by the task exactly as the task scores its own search (``RetrievalTask.score_run``: self-hits
dropped, cut at ``k``, ``trec_eval -c``: judged queries missing from the run score 0, run queries
the qrels lack are ignored), on the local data verified against its card as ``harness run`` does.

What the results file says about it (CONTRIBUTING.md, "Trust"):

- ``origin`` "external" and ``model.source`` "external": the metrics were computed here, the ranking
  was not. It is never a reference run (``submit.standing`` gives reference only to origin "local"),
  and it cannot be re-run by ``harness verify``; it is stored as a submission, "submitted, rescored"
  when the data is the card's (every metric was computed here from the run and the local qrels).
- ``model.id`` passes the check every submitted id passes (``submit.check_model_id``: no look-alike
  of a reference model), ``model.kind`` is declared by the user (``--kind``), and
  ``model.parameters`` name the run as given (``run_name``, ``run_sha256`` of its uncompressed text,
  ``run_hits``).
- ``predictions`` references the run as scored (canonical TREC text, queries the qrels lack and
  hits below ``k`` left out), which is written beside the results file, so ``submit`` can rescore it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from harness import registry
from harness.errors import InputError, SettingError
from harness.provenance import environment, harness_record
from harness.results import ModelRecord, Predictions, ResultsFile, TaskResult, model_slug
from harness.results.bounds import text_problem
from harness.results.runs import EncodedRun, encode, read_run
from harness.submit import check_model_id
from harness.suites.base import RunScoring, Suite
from harness.timing import Timer, peak_rss_mib

Kind = Literal["dense", "sparse", "hybrid"]
KINDS: tuple[Kind, ...] = ("dense", "sparse", "hybrid")


@dataclass(frozen=True)
class Scored:
    """The results file of an external run, the run as scored, and what the run left out or added."""

    results: ResultsFile
    task: str
    run: EncodedRun
    verified: bool
    """The data is the card's: every metric was computed here from the run and the card's qrels."""
    missing: int
    """Judged queries the run has no hit for: they score 0 (``trec_eval -c``)."""
    stray: int
    """Run queries the qrels of the split lack: ignored, left out of the run as scored."""


def score(
    run_path: Path,
    dataset: str,
    model_id: str,
    data_root: Path,
    split: str | None = None,
    kind: Kind = "dense",
    reference_ids: Iterable[str] = (),
    suites: Mapping[str, Suite] = registry.SUITES,
    where: str | None = None,
) -> Scored:
    """Score the TREC run at ``run_path`` on ``dataset`` (``beir/scifact``) as ``model_id``.

    Raises:
        InputError: the run file is refused (named with its line and field), or the model id is
            refused (``--model-id``), or its file name breaks the text policy.
        SettingError: an unknown dataset or split, or a task that does not score runs.
        DataNotFound: the dataset is not under ``data_root``.
    """
    name = where or str(run_path)
    try:
        check_model_id(model_id, "--model-id", reference_ids)
    except InputError as error:
        raise InputError("--model-id", "", error.message) from None
    problem = text_problem(run_path.name)
    if problem is not None:
        raise InputError(name, "(file name)", problem)
    prefix, _, short = dataset.partition("/")
    suite = registry.suite(prefix, suites)
    (task,) = suite.select(data_root, [short], split).tasks  # the same path as harness run: data located
    if not isinstance(task, RunScoring):
        raise SettingError("datasets", f"{task.name} does not score ranked runs")
    timer = Timer()
    with timer("load"):
        data = task.load(data_root)
    with timer("read_run"):
        parsed = read_run(run_path, name)
    with timer("evaluate"):
        judged = {qid: docs for qid, docs in parsed.hits.items() if qid in data.qrels}
        scores = task.score_run(data, judged)
    if scores.run is None:
        raise SettingError("datasets", f"{task.name} keeps no run of what it scored")
    encoded = encode(scores.run, model_slug(model_id))
    predictions = Predictions(kind="run", item_kind="query", values=[], run=encoded.ref)
    result = TaskResult(
        task=task.name,
        task_version=task.version,
        split=task.split,
        inputs=data.inputs,
        settings=task.settings(),
        main_metric=task.main_metric,
        metrics=scores.metrics,
        per_item=scores.per_item,
        predictions=predictions,
        timings_s={**timer.phases, "total": timer.total()},
        peak_rss_mib=peak_rss_mib(),
    )
    model = ModelRecord(
        id=model_id,
        kind=kind,
        source="external",
        parameters={
            "run_name": run_path.name,
            "run_sha256": parsed.sha256,
            "run_format": "trec",
            "run_hits": parsed.lines,
        },
    )
    record = ResultsFile(
        created_at=datetime.now(UTC),
        harness=harness_record(),
        model=model,
        environment=environment("cpu"),
        seed=0,
        suite=suite.name,
        origin="external",
        results=[result],
    )
    missing = sum(1 for qid in data.qrels if not judged.get(qid))
    return Scored(
        results=record,
        task=task.name,
        run=encoded,
        verified=data.inputs.verified,
        missing=missing,
        stray=len(parsed.hits) - len(judged),
    )
