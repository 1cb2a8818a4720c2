"""``harness``: run, submit, verify, ingest, leaderboard, board, list, schema, fetch, distill.

With report.py, this is all that prints.
Environment variables are read here and nowhere else: ``HARNESS_DATA`` (data root), ``HARNESS_DB``
(SQLAlchemy URL), ``HARNESS_CACHE`` (index and embedding cache). A ``HarnessError`` becomes one line
on stderr and exit status 2, and so does a database error (read-only file, lock held too long, server
gone): one line, never the SQL. SIGTERM becomes an exception, so open transactions roll back and a
half-filed submission is removed (exit 143). Anything else is a bug and keeps its traceback. Text from
files is never parsed as Rich markup (``markup=False``, ``Text`` cells).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from harness.battery import Job, JobOutcome
    from harness.data.cards import DatasetCard
    from harness.models.options import ModelOptions
    from harness.results import RunRef
    from harness.runner import Model, RunSink

from harness import __version__
from harness.errors import FieldError, HarnessError, InputError, Setting, SettingError, printable

EXIT_USAGE = 2

FLAGS: dict[Setting, str] = {
    "suite": "--suite",
    "datasets": "--datasets",
    "split": "--split",
    "model": "--model",
    "revision": "--revision",
    "device": "--device",
    "data_root": "--data-dir",
    "cache_dir": "--cache-dir",
    "db": "--db",
    "digest": "digest",
    "submissions_dir": "--submissions-dir",
    "layers": "--layers",
    "dims": "--dims",
    "grid": "--grid",
    "lm_path": "--lm-path",
    "engine": "--engine",
}
"""The flag each run setting arrives by: a ``SettingError`` is reported against it."""


def _int_list(text: str) -> tuple[int, ...]:
    """``32,64,128`` -> (32, 64, 128): positive integers, for --dims and --layers."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a comma-separated list of positive integers") from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"{text!r}: a comma-separated list of positive integers")
    return values


def _data_root(arg: str | None) -> Path:
    from harness.data.files import default_data_root

    value = arg or os.environ.get("HARNESS_DATA")
    return Path(value).expanduser() if value else default_data_root()


def _db_url(arg: str | None) -> str:
    from harness.store import DEFAULT_URL

    return arg or os.environ.get("HARNESS_DB") or DEFAULT_URL


def _cache_dir(arg: str | None) -> Path:
    from harness.data.files import default_cache_root

    value = arg or os.environ.get("HARNESS_CACHE")
    return Path(value).expanduser() if value else default_cache_root()


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number, 1 to 65535")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="repbench: reproducible embedding benchmarks"
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="evaluate a model on a suite and record the results")
    run.add_argument(
        "--model", required=True, help="builtin name, rrf:A+B, a local folder, or a hub org/name"
    )
    run.add_argument("--suite", required=True, help="suite name (harness list suites)")
    run.add_argument(
        "--datasets",
        help="comma-separated datasets of the suite (default: those found locally); a path or NAME=PATH "
        "runs your own data: a BEIR-layout folder or zip (beir), a TSV of sentence1, sentence2, score (sts)",
    )
    run.add_argument("--split", help="split of every dataset (default: each suite's, test)")
    run.add_argument(
        "--tasks",
        help="mteb suite: comma-separated MTEB task names (SciFact,STS12) or module:Class task classes "
        "(an alias of --datasets)",
    )
    run.add_argument("--batch-size", type=_positive, default=64)
    run.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--threads", type=_positive, default=min(2, os.cpu_count() or 1), help="search threads")
    run.add_argument("--revision", help="hub revision (commit, branch or tag) of a hub model")
    run.add_argument("--trust-remote-code", action="store_true", help="allow a hub model to run its own code")
    run.add_argument("--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)")
    run.add_argument("--data-dir", help="data root (default HARNESS_DATA or the user cache folder)")
    run.add_argument(
        "--cache-dir", help="index and embedding cache (default HARNESS_CACHE or the user cache)"
    )
    run.add_argument(
        "--results-dir", default="results", help="where the results file is filed (default results/)"
    )
    run.add_argument("--output", help="also write the results file to this path")
    run.add_argument(
        "--dims",
        type=_int_list,
        default=(),
        help="sweep: truncated, L2-renormalised dimensions, e.g. 32,64,128,256,384 (each a model variant)",
    )
    run.add_argument(
        "--layers",
        type=_int_list,
        default=(),
        help="sweep: transformer layers to pool, e.g. 2,4,6 (one forward pass for all of them)",
    )
    run.add_argument(
        "--grid",
        choices=("full", "starbucks"),
        help="sweep grid: full (every layer x dim, the default) or starbucks (the diagonal pairs)",
    )
    run.add_argument(
        "--lm-path",
        help="circuit suite, paper track: a local Hugging Face folder of GPT-2 small or attn-only-4l",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="ray: encode the corpus on a Ray cluster into Parquet shards and search them (the [ray] extra)",
    )
    run.add_argument("--ray-address", help="--engine ray: the cluster to join (default: start a local one)")
    run.add_argument(
        "--ray-actors", type=_positive, help="--engine ray: encoder actors (default: one per GPU or CPU)"
    )
    run.add_argument(
        "--save-run",
        action="store_true",
        help="write each retrieval task's top-k run (TREC, gzip) beside the results file",
    )

    ingest = sub.add_parser(
        "ingest",
        help="check results files as submit does and index them (rebuild: ingest results submissions)",
    )
    ingest.add_argument("paths", nargs="+", help="results files or folders holding them")
    ingest.add_argument("--db", help="SQLAlchemy URL")
    ingest.add_argument("--data-dir", help="data root, to recompute scores from the local data")
    ingest.add_argument(
        "--results-dir",
        default="results",
        help="the reference folder: only harness run files found here are reference runs (default results/)",
    )
    ingest.add_argument(
        "--submissions-dir",
        default="submissions",
        help="where submit files submissions (default submissions/)",
    )

    leaderboard = sub.add_parser("leaderboard", help="print the board's main table (table, CSV or JSON)")
    leaderboard.add_argument("--suite", help="suite name (default: the one the database holds)")
    leaderboard.add_argument("--format", choices=("table", "csv", "json"), default="table")
    leaderboard.add_argument("--metric", help="metric of the cells (default: each task's main metric)")
    leaderboard.add_argument(
        "--unverified", action="store_true", help="also cells whose data differs from the card"
    )
    leaderboard.add_argument(
        "--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)"
    )

    listing = sub.add_parser("list", help="list models, suites or datasets")
    listing.add_argument("what", choices=("models", "suites", "datasets"))
    listing.add_argument("--data-dir", help="data root, to show which datasets are present")

    schema = sub.add_parser("schema", help="print the JSON Schema of results files")
    schema.add_argument(
        "--write", action="store_true", help="regenerate the committed schema file (harness/schema/)"
    )

    fetch = sub.add_parser("fetch", help="download a dataset (needs the internet), checksum verified")
    fetch.add_argument("dataset", help="e.g. beir/scifact, or beir/all for every public BEIR dataset")
    fetch.add_argument("--data-dir", help="data root (default HARNESS_DATA or the user cache folder)")
    fetch.add_argument(
        "--mirror",
        help="base URL replacing the publisher's host (e.g. file:///srv/beir/ or an institutional mirror); "
        "the published MD5 still decides",
    )

    submit = sub.add_parser("submit", help="check a results file from outside, file it and ingest it")
    submit.add_argument("file", help="the results file (JSON)")
    submit.add_argument(
        "--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)"
    )
    submit.add_argument("--data-dir", help="data root, to recompute scores from the local data")
    submit.add_argument(
        "--submissions-dir",
        default="submissions",
        help="where accepted files are stored as <digest>.json (default submissions/)",
    )
    submit.add_argument(
        "--run",
        action="append",
        default=[],
        help="a TREC run the file's predictions name (repeatable; default: runs beside the file), rescored",
    )
    _add_score_parser(sub)
    _add_battery_parser(sub)

    verify = sub.add_parser("verify", help="re-run a results file's model here and compare every metric")
    verify.add_argument("file", help="the results file (JSON)")
    verify.add_argument("--db", help="SQLAlchemy URL, where the verification is recorded too")
    verify.add_argument("--data-dir", help="data root (default HARNESS_DATA or the user cache folder)")
    verify.add_argument(
        "--cache-dir", help="index and embedding cache (default HARNESS_CACHE or the user cache)"
    )

    board = sub.add_parser("board", help="serve the leaderboard on 127.0.0.1 (Streamlit)")
    board.add_argument("--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)")
    board.add_argument("--port", type=_port, default=8501, help="loopback port (default 8501)")

    distill = sub.add_parser(
        "distill", help="build a distilled static model once, cached by the hashes of its inputs"
    )
    distill.add_argument("model", choices=("m2v-minilm",), help="m2v-minilm: model2vec from all-MiniLM-L6-v2")
    distill.add_argument(
        "--cache-dir", help="where models are built (default HARNESS_CACHE or the user cache)"
    )

    importing = sub.add_parser(
        "import", help="import published scores (MTEB result files, Pyserini 2CR) beside the measured ones"
    )
    import_sub = importing.add_subparsers(dest="import_kind", required=True)
    for kind, what in (
        ("mteb", "a folder in MTEB's results layout: <model>/<revision>/<Task>.json with model_meta.json"),
        ("pyserini-2cr", "Pyserini's 2cr/beir.yaml"),
        ("all", "(no path) re-import everything kept under --published-dir: rebuilds the published tables"),
    ):
        one = import_sub.add_parser(kind, help=what)
        if kind != "all":
            one.add_argument("path", help=what)
        one.add_argument(
            "--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)"
        )
        one.add_argument(
            "--published-dir",
            default="published",
            help="where imported files are kept byte for byte, for rebuilds (default published/)",
        )

    export = sub.add_parser("export", help="write stored reference runs in another tool's result format")
    export.add_argument("format", choices=("mteb",), help="mteb: <model>/<revision>/<Task>.json")
    export.add_argument("--out", required=True, help="folder to write into")
    export.add_argument(
        "--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)"
    )

    published = sub.add_parser("published", help="print published scores beside the ones measured here")
    published.add_argument(
        "--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)"
    )
    published.add_argument("--all", action="store_true", help="also the published scores never compared")

    circuit = sub.add_parser("circuit", help="the circuit suite's toy models: train and derive ground truth")
    circuit_sub = circuit.add_subparsers(dest="circuit_command", required=True)
    train_toy = circuit_sub.add_parser(
        "train-toy", help="train a toy model from a seed and derive its ground-truth circuits (as committed)"
    )
    train_toy.add_argument("toy", choices=("induction-2l4h", "mix4-3l8h"))
    train_toy.add_argument("--seed", type=int, default=0)
    train_toy.add_argument(
        "--out",
        default="harness/suites/circuit/toys",
        help="folder for the three files (default: the committed one)",
    )
    return parser


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from harness import registry, results, runner, store
    from harness.models.options import ModelOptions
    from harness.models.sweep import plan
    from harness.report import print_results

    data_root = _data_root(args.data_dir)
    if args.device != "cpu" and not args.device.startswith("cuda"):
        raise SettingError("device", f"{args.device!r}: use cpu, cuda or cuda:N")
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()] if args.datasets else None
    if args.tasks:  # --tasks is --datasets by another name (the mteb suite's tasks)
        datasets = [*(datasets or []), *(t.strip() for t in args.tasks.split(",") if t.strip())]
    suite = registry.suite(args.suite)
    selection = suite.select(data_root, datasets, args.split)  # a missing dataset is named here
    registry.check_requirements(args.model)
    _check_engine(args, suite.name)
    engine = store.connect(_db_url(args.db))
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise SettingError("device", "CUDA was asked for but torch sees no GPU")
    options = ModelOptions(
        cache_dir=_cache_dir(args.cache_dir),
        device=args.device,
        batch_size=args.batch_size,
        threads=args.threads,
        trust_remote_code=args.trust_remote_code,
        revision=args.revision,
        show_progress=not args.quiet,
        lm_path=_lm_path(args.lm_path),
    )
    with console.status(f"loading model {args.model}", spinner="dots") if not args.quiet else _null():
        model = registry.load_model(args.model, options)
    runner.check_compatible(model, suite)
    points = plan(model, args.layers, args.dims, args.grid)

    def on_task(name: str, number: int, total: int) -> None:
        if not args.quiet:
            console.print(f"[{number}/{total}] {name} with {model.info.id}", markup=False, highlight=False)

    status = console.status("", spinner="dots")

    def on_phase(task: str, phase: str) -> None:
        if not args.quiet:
            status.update(f"{task}: {phase}")

    saved: list[Path] = []
    with status if not args.quiet else _null(), _engine(args, options) as on_engine:
        record = runner.run(
            on_engine(model),
            suite,
            selection.tasks,
            data_root,
            seed=args.seed,
            device=args.device,
            on_task=on_task,
            on_phase=on_phase,
            points=points,
            save_run=_run_saver(args, model.info.id, saved) if args.save_run else None,
        )
    path = results.write_results(record, Path(args.results_dir))
    if args.output:
        results.write_file(record, Path(args.output))
    try:
        outcome = store.ingest(engine, record)
    finally:
        engine.dispose()
    print_results(console, record, suite.board)
    cards = {task.name: task.card for task in selection.tasks if task.card is not None}
    warned: set[str] = set()
    for result in record.results:  # a copy that is not the published one is named, never silently used
        card = cards.get(result.task)
        note = card.published_note(result.split, result.inputs.counts) if card else ""
        if note and result.task not in warned:
            warned.add(result.task)
            console.print(f"warning: {result.task}: {note}", markup=False, highlight=False)
    if selection.skipped:
        console.print(f"not found locally, skipped: {', '.join(selection.skipped)}", markup=False)
    console.print(f"results file: {path}" + (f" (also {args.output})" if args.output else ""), markup=False)
    for run_path in saved:
        console.print(f"run file: {run_path}", markup=False, highlight=False)
    if args.save_run and not saved:
        console.print(f"--save-run: no task of the {suite.name} suite ranks a run", markup=False)
    state = {"stored": "ingested", "updated": "annotations updated", "unchanged": "already ingested"}[outcome]
    console.print(f"database: {state} ({engine.url.render_as_string()})", markup=False, highlight=False)
    return 0


def _check_engine(args: argparse.Namespace, suite: str) -> None:
    """``--engine ray`` needs Ray (the [ray] extra) and runs dense retrieval (beir), without sweeps."""
    if args.engine != "ray":
        return
    from harness.engines import ray_data

    ray_data.require_ray()
    if suite != "beir" or args.layers or args.dims:
        raise SettingError("engine", "ray runs a dense model on the beir suite (no --layers or --dims)")


@contextmanager
def _engine(args: argparse.Namespace, options: ModelOptions) -> Iterator[Callable[[Model], Model]]:
    """Where the model runs: as loaded (``local``), or on a Ray cluster joined for the run (``ray``)."""
    if args.engine != "ray":
        yield lambda model: model
        return
    from harness.engines import ray_data

    settings = ray_data.RaySettings(address=args.ray_address, actors=args.ray_actors)
    with ray_data.session(settings) as cluster:
        yield lambda model: ray_data.wrap(model, args.model, options, cluster, settings)


def _run_saver(args: argparse.Namespace, model_id: str, saved: list[Path]) -> RunSink:
    """``--save-run``: each run written beside the results file (and beside ``--output``) as it is scored.

    The results file lies in ``<results-dir>/<model slug>/``; runs are named by their own sha256
    (``results.runs``), so they can be written before the results file's digest is known.
    """
    from harness.results import model_slug
    from harness.results import runs as trec

    folders = [Path(args.results_dir) / model_slug(model_id)]
    if args.output:
        folders.append(Path(args.output).parent)

    def save(task: str, run: trec.RankedRun) -> RunRef:
        encoded = trec.encode(run, model_slug(model_id))
        saved.extend(trec.write_beside(folder, task, encoded) for folder in folders)
        return encoded.ref

    return save


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


REFERENCE_FILE = Path("tests/reference_scores.toml")
"""``harness battery``'s default reference expectations (in the repository, where the battery runs)."""


def _add_battery_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    battery = sub.add_parser(
        "battery",
        help="the reference battery: bm25-flat, bm25s and all-MiniLM-L6-v2 over beir/scifact, sts and glue, "
        "cold then warm, with wall times and a summary table",
    )
    battery.add_argument(
        "--models", help="comma-separated models (default: bm25-flat,bm25s,all-MiniLM-L6-v2)"
    )
    battery.add_argument(
        "--tasks",
        help="comma-separated suites (every dataset present) or suite/dataset, for every model; MODEL:TASK "
        "for that model alone (default: beir/scifact,sts,glue)",
    )
    battery.add_argument(
        "--pass",
        dest="passes",
        choices=("both", "cold", "warm"),
        default="both",
        help="cold (an empty cache), warm (the cache as it is), or both, cold then warm (default)",
    )
    battery.add_argument(
        "--cache-dir",
        help="cold: an empty or new folder, kept afterwards (default: a temporary folder, removed at the "
        "end); --pass warm: the filled cache (default HARNESS_CACHE or the user cache)",
    )
    battery.add_argument("--data-dir", help="data root (default HARNESS_DATA or the user cache folder)")
    battery.add_argument(
        "--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)"
    )
    battery.add_argument(
        "--results-dir", default="results", help="where the results files are filed (default results/)"
    )
    battery.add_argument(
        "--reference", help=f"reference expectations, 2CR-style TOML (default {REFERENCE_FILE} where present)"
    )


def cmd_battery(args: argparse.Namespace, console: Console) -> int:
    """Plan, select (data located first), run each pass, file every results file, print the summary.

    Exit 0 when every listed reference number is met and every pass scored alike, else 1.
    """
    import shutil
    import tempfile

    from harness import battery, store
    from harness.models.options import ModelOptions
    from harness.report import print_battery

    data_root = _data_root(args.data_dir)
    flags = {"model": "--models", "suite": "--tasks", "datasets": "--tasks"}
    try:
        chosen = battery.plan(
            _names(args.models) if args.models else battery.REFERENCE_MODELS,
            _names(args.tasks) if args.tasks else battery.REFERENCE_TASKS,
        )
        selected = battery.select(chosen, data_root)
    except SettingError as error:
        if error.setting not in flags:
            raise
        raise InputError(flags[error.setting], "", error.message) from None
    reference = Path(args.reference) if args.reference else REFERENCE_FILE
    if args.reference or reference.is_file():
        references = battery.read_references(reference)
    else:
        references = {}
        console.print(f"no reference file at {reference}: no reference checks", markup=False)
    names: list[battery.PassName] = ["cold", "warm"] if args.passes == "both" else [args.passes]
    made = args.cache_dir is None and names[0] == "cold"
    if made:
        cache = Path(tempfile.mkdtemp(prefix="harness-battery-"))
    elif args.cache_dir is None:
        cache = _cache_dir(None)
    else:
        cache = Path(args.cache_dir).expanduser()
    if names[0] == "cold":
        battery.cold_cache(cache)
    options = ModelOptions(cache_dir=cache, threads=min(2, os.cpu_count() or 1), show_progress=False)
    engine = store.connect(_db_url(args.db))
    events = _BatteryEvents(console, engine, Path(args.results_dir))
    console.print(f"battery: {len(chosen.jobs)} jobs, passes {', '.join(names)}, cache {cache}", markup=False)
    try:
        passes = [battery.run_pass(name, selected, data_root, options, events) for name in names]
    finally:
        engine.dispose()
        if made:
            shutil.rmtree(cache, ignore_errors=True)
    rows = battery.summarize(passes, references)
    print_battery(console, rows, passes, battery.skipped(passes))
    return 0 if all(row.ok for row in rows) else 1


class _BatteryEvents:
    """``battery.Events`` for the CLI: a line per job and per task; each results file filed as it comes."""

    def __init__(self, console: Console, engine: Engine, results_dir: Path) -> None:
        self.console, self.engine, self.results_dir = console, engine, results_dir

    def job_started(self, name: str, job: Job, number: int, total: int) -> None:
        self.console.print(f"[{name} {number}/{total}] {job.label}", markup=False, highlight=False)

    def task_started(self, task: str, number: int, total: int) -> None:
        self.console.print(f"  {task} ({number}/{total})", markup=False, highlight=False)

    def job_finished(self, name: str, outcome: JobOutcome) -> None:
        from harness import results, store

        if outcome.record is None:
            self.console.print(f"  skipped: {outcome.skipped}", markup=False, highlight=False)
            return
        path = results.write_results(outcome.record, self.results_dir)
        state = store.ingest(self.engine, outcome.record)
        self.console.print(
            f"  done in {outcome.seconds:.1f} s: {path} ({state})", markup=False, highlight=False
        )


def _add_score_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    score = sub.add_parser(
        "score", help="score a TREC run made by another system (Anserini, Vespa, faiss) into a results file"
    )
    score.add_argument("run", help="the TREC run: qid Q0 docid rank score tag, plain or gzip")
    score.add_argument("--dataset", required=True, help="the task, e.g. beir/scifact")
    score.add_argument("--model-id", required=True, help="the name shown: org/name (no look-alike)")
    score.add_argument(
        "--kind", choices=("dense", "sparse", "hybrid"), default="dense", help="what ranked it (dense)"
    )
    score.add_argument("--split", help="split (default: the dataset's, test)")
    score.add_argument("--data-dir", help="data root (default HARNESS_DATA or the user cache folder)")
    score.add_argument("--db", help="SQLAlchemy URL (default HARNESS_DB or sqlite:///results/harness.sqlite)")
    score.add_argument(
        "--results-dir", default="results", help="where the results file is filed (default results/)"
    )
    score.add_argument("--output", help="also write the results file (and the run) to this path")


def cmd_score(args: argparse.Namespace, console: Console) -> int:
    """``harness score``: an external run scored, written beside its results file, stored as a submission.

    The stored standing is "submission", rescored where the data is the card's (``harness.score``).
    """
    from harness import results, store
    from harness.report import print_results
    from harness.results import runs as trec
    from harness.score import score

    data_root = _data_root(args.data_dir)
    engine = store.connect(_db_url(args.db))
    try:
        try:
            scored = score(
                Path(args.run),
                args.dataset,
                args.model_id,
                data_root,
                args.split,
                args.kind,
                store.reference_model_ids(engine),
                where=args.run,
            )
        except SettingError as error:  # the suite and dataset arrive by --dataset here
            if error.setting not in ("suite", "datasets"):
                raise
            raise InputError("--dataset", "", error.message) from None
        record = scored.results
        path = results.write_results(record, Path(args.results_dir))
        run_paths = [trec.write_beside(path.parent, scored.task, scored.run)]
        if args.output:
            results.write_file(record, Path(args.output))
            run_paths.append(trec.write_beside(Path(args.output).parent, scored.task, scored.run))
        rescored = [result.key for result in record.results] if scored.verified else []
        outcome = store.ingest(engine, record, "submission", rescored)
    finally:
        engine.dispose()
    from harness import registry

    print_results(console, record, registry.suite(record.suite).board)
    if scored.missing:
        console.print(f"{scored.missing} judged queries have no hit in the run: they score 0", markup=False)
    if scored.stray:
        console.print(f"{scored.stray} run queries are not judged in this split: ignored", markup=False)
    console.print(f"results file: {path}" + (f" (also {args.output})" if args.output else ""), markup=False)
    for run_path in run_paths:
        console.print(f"run file: {run_path}", markup=False, highlight=False)
    state = {"stored": "ingested", "updated": "annotations updated", "unchanged": "already ingested"}[outcome]
    label = "submitted, rescored" if scored.verified else "submitted"
    console.print(f"database: {state} as {label}", markup=False, highlight=False)
    return 0


def _lm_path(text: str | None) -> Path | None:
    """The paper track's local model folder, which must exist (named here, before any work)."""
    if text is None:
        return None
    path = Path(text).expanduser()
    if not (path / "config.json").is_file():
        raise SettingError("lm_path", f"{text!r} is not a model folder (no config.json in it)")
    return path


def cmd_circuit(args: argparse.Namespace, console: Console) -> int:
    """``circuit train-toy``: one thread (bit-for-bit reproducible on a CPU), progress every 500 steps."""
    import time

    import torch

    from harness.circuits.ablation import head_name
    from harness.circuits.training import TOYS
    from harness.suites.circuit.build import build_toy

    torch.set_num_threads(1)
    spec = TOYS[args.toy]
    started = time.perf_counter()

    def progress(step: int, loss: float) -> None:
        if step % 500 == 0:
            console.print(
                f"[{time.perf_counter() - started:6.1f} s] step {step}/{spec.steps} loss {loss:.4f}"
            )

    built = build_toy(spec, args.seed, Path(args.out), progress)
    console.print(
        f"trained {spec.name} seed {args.seed} in {built.seconds:.1f} s, final loss {built.final_loss:.4f}"
    )
    for problem, variants in built.circuits.items():
        for kind, circuit in variants.items():
            heads = " ".join(head_name(h, spec.config.n_heads) for h in circuit.heads)
            console.print(
                f"{problem} ({kind}): {len(circuit.heads)} heads, "
                f"faithfulness {circuit.faithfulness:.3f}: {heads}"
            )
    for name, digest in built.files.items():
        console.print(f"{digest}  {name}")
    return 0


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def cmd_ingest(args: argparse.Namespace, console: Console) -> int:
    from harness import store, submit

    paths: list[Path] = []
    for item in args.paths:
        path = Path(item)
        if not path.exists():
            raise InputError(item, "(file)", "no such file or folder")
        paths.append(path)
    engine = store.connect(_db_url(args.db))
    status = console.status("ingesting", spinner="dots")

    def on_file(number: int, total: int, path: Path) -> None:
        status.update(Text(f"ingesting {number}/{total}: {path}"))

    try:
        with status if console.is_terminal else _null():
            report = submit.ingest_files(
                engine,
                paths,
                _data_root(args.data_dir),
                Path(args.results_dir),
                Path(args.submissions_dir),
                on_file=on_file,
            )
    finally:
        engine.dispose()  # SQLite folds its write-ahead log back into the file
    for _, error in report.refused:
        console.print(f"refused: {error}", highlight=False, soft_wrap=True, markup=False)
    console.print(
        f"{len(report.ingested)} ingested, {len(report.updated)} updated, {len(report.already)} already "
        f"ingested, {len(report.refused)} refused",
        highlight=False,
    )
    return EXIT_USAGE if report.refused else 0


def cmd_leaderboard(args: argparse.Namespace, console: Console) -> int:
    import csv
    import json

    from harness import registry, store
    from harness.board import queries as bq
    from harness.board.export import leaderboard_table
    from harness.report import print_leaderboard
    from harness.suites.base import BoardSpec

    engine = store.connect(_db_url(args.db), readonly=True)
    try:
        stored = sorted(store.suite_counts(engine))
        if args.suite is not None:
            suites = [args.suite]
        elif args.format == "table" or len(stored) == 1:
            suites = stored
        else:
            shown = ", ".join(stored) or "none"
            raise SettingError("suite", f"name one suite for {args.format} (stored: {shown})")
        tables = []
        for name in suites:
            spec = registry.SUITES[name].board if name in registry.SUITES else BoardSpec()
            tables.append(leaderboard_table(bq.board(engine, name, spec, args.metric, not args.unverified)))
    finally:
        engine.dispose()
    if args.format == "csv":
        (table,) = tables
        writer = csv.DictWriter(sys.stdout, fieldnames=list(table.columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table.rows)
    elif args.format == "json":
        (table,) = tables
        document = {
            "suite": table.suite,
            "columns": list(table.columns),
            "mean_over": list(table.mean_over),
            "rows": [{**row, "cells": cells} for row, cells in zip(table.rows, table.cells, strict=True)],
        }
        sys.stdout.write(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    else:
        for table in tables:
            print_leaderboard(console, table)
        if not tables:
            console.print("the database holds no runs", highlight=False)
    return 0


def _all_cards() -> dict[str, DatasetCard]:
    from harness import registry
    from harness.suites.base import CardSuite

    cards: dict[str, DatasetCard] = {}
    for suite in registry.SUITES.values():
        if isinstance(suite, CardSuite):
            cards.update({card.id: card for card in suite.cards.values()})
    return cards


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    from harness import registry
    from harness.report import print_rows

    if args.what == "models":
        rows = [(name, entry.kind, entry.description) for name, entry in registry.MODELS.items()]
        rows.append(("rrf:A+B", "hybrid", "reciprocal rank fusion of two models (k=60)"))
        rows.append(("pipe:A>B[@K]", "hybrid", "retriever A's top K (default 100) re-scored by encoder B"))
        rows.append(
            ("sparse:<org/name> | <folder>", "sparse", "a sentence-transformers SparseEncoder (SPLADE)")
        )
        rows.append(
            ("<org/name> | <folder>", "dense", "any sentence-transformers model (hub id or local path)")
        )
        print_rows(console, "models", ("name", "kind", "what"), rows)
    elif args.what == "suites":
        suites = [
            (
                suite.name,
                " or ".join(t.__name__ for t in suite.model_types),
                ", ".join(suite.datasets()),
                suite.description,
            )
            for suite in registry.SUITES.values()
        ]
        print_rows(console, "suites", ("suite", "runs", "datasets", "what"), suites)
    else:
        from harness.data.files import locate

        root = _data_root(args.data_dir)
        listed = []
        for card in _all_cards().values():
            try:
                present = locate(card, root).display
            except HarnessError:
                present = "–"
            checksums = "yes" if card.has_checksums else "no"
            facts = card.published
            queries = f"{facts.eval_queries:,} ({facts.eval_split})" if facts else ""
            listed.append((card.id, ", ".join(card.splits) or "?", queries, checksums, present))
        header = ("dataset", "splits", "published queries", "checksums", "found at")
        print_rows(console, f"datasets (data root {root})", header, listed)
    return 0


def cmd_fetch(args: argparse.Namespace, console: Console) -> int:
    """One dataset, or ``<suite>/all``: each archive downloaded (Rich progress bar) and MD5-checked.

    ``<suite>/all`` goes on past a dataset that fails, names every failure (one line each) and exits 2.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

    from harness.data.fetch import fetch

    fetchable = {key: card for key, card in _all_cards().items() if card.archive_md5}
    suites = sorted({key.split("/", 1)[0] for key in fetchable})
    if args.dataset in {f"{suite}/all" for suite in suites}:
        prefix = args.dataset.removesuffix("all")
        chosen = [card for key, card in fetchable.items() if key.startswith(prefix)]
    elif args.dataset in fetchable:
        chosen = [fetchable[args.dataset]]
    else:
        every = [*fetchable, *(f"{suite}/all" for suite in suites)]
        raise InputError("dataset", "", f"cannot fetch {args.dataset!r}; fetchable: {', '.join(every)}")
    data_root = _data_root(args.data_dir)
    failed: list[str] = []
    for card in chosen:
        columns = (TextColumn(card.id), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        problem: HarnessError | None = None
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
            job = bar.add_task(card.id, total=None)

            def progress(done: int, total: int | None, bar: Progress = bar, job: TaskID = job) -> None:
                bar.update(job, completed=done, total=total)

            try:
                fetched = fetch(card, data_root, progress, mirror=args.mirror)
            except HarnessError as error:
                if len(chosen) == 1:
                    raise
                problem = error
        if problem is not None:  # printed once the bar is gone
            print(f"harness: {card.id}: {problem}", file=sys.stderr)
            failed.append(card.id)
            continue
        state = "saved" if fetched.outcome == "downloaded" else "already present, md5 verified:"
        console.print(f"{card.id}: {state} {fetched.path}", markup=False, highlight=False)
    if failed:
        print(f"harness: {len(failed)} of {len(chosen)} failed: {', '.join(failed)}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    from harness.atomic import PUBLIC, atomic_write_bytes
    from harness.results import SCHEMA_PATH, json_schema_bytes

    if args.write:
        atomic_write_bytes(SCHEMA_PATH, json_schema_bytes(), mode=PUBLIC)
        console.print(f"wrote {SCHEMA_PATH.name}")
    else:
        sys.stdout.write(json_schema_bytes().decode())
    return 0


def cmd_submit(args: argparse.Namespace, console: Console) -> int:
    from harness import store, submit

    # refused files never touch the database: the schema and the checks come first
    accepted = submit.accept(
        Path(args.file), args.file, _data_root(args.data_dir), runs=[Path(run) for run in args.run]
    )
    engine = store.connect(_db_url(args.db))
    try:  # then the ids of this database's reference rows, which no submission may imitate
        submit.check_model_id(accepted.results.model.id, args.file, store.reference_model_ids(engine))
        done = submit.submit(engine, accepted, Path(args.submissions_dir))
    finally:
        engine.dispose()
    for verdict in done.verdicts:
        state = "verified" if verdict.verified else f"unverified: {verdict.note}"
        if verdict.rescored:
            state += ", rescored"
        variant = f" [{verdict.variant}]" if verdict.variant else ""
        console.print(
            f"{verdict.task}{variant} ({verdict.split}): {state}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    if done.dropped_verifications:
        console.print(
            f"dropped {done.dropped_verifications} verification record(s): "
            "only `harness verify` here adds them",
            highlight=False,
        )
    if done.reference:
        console.print(f"the database holds this run ({done.digest[:12]}) as a reference run: nothing filed")
        return 0
    filed = "stored as" if done.written else "already filed as"
    console.print(f"{filed} {done.path}", highlight=False, soft_wrap=True, markup=False)
    console.print("database: ingested" if done.ingested else "database: already ingested", highlight=False)
    return 0


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    # verify reproduces with what is here: a model missing locally is refused, never downloaded
    os.environ["HF_HUB_OFFLINE"] = "1"
    from harness import results, store, submit, verify
    from harness.models.options import ModelOptions, from_record
    from harness.report import print_rows

    data_root = _data_root(args.data_dir)
    path = Path(args.file)
    claimed = results.read_results(path, args.file)  # the file as it is, annotations included
    submit.check(claimed, args.file, data_root)  # a file its tasks cannot re-derive is not re-run
    for index, result in enumerate(claimed.results):
        if result.inputs.source == "user":  # harness.data.user: the data is on the submitter's machine
            suite, _, name = result.task.partition("/")
            raise InputError(
                args.file,
                f"results[{index}].inputs.source",
                f"{result.task} is user data (fingerprint {result.inputs.fingerprint[:12]}): verify cannot "
                f"re-run it without that data; re-run it yourself with `harness run --suite {suite} "
                f"--datasets {name}=PATH --model {shlex.quote(claimed.model.id)}` and compare the "
                "fingerprints and scores",
            )
    import torch

    options, notes = from_record(
        claimed.model, ModelOptions(cache_dir=_cache_dir(args.cache_dir)), torch.cuda.is_available()
    )
    for note in notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
    with console.status(f"re-running {claimed.model.id}", spinner="dots"):
        try:
            now = verify.reproduce(claimed, data_root, options)
        except FieldError as error:  # the file names something this machine cannot run
            raise InputError(args.file, error.field, error.message) from None
    checks = verify.compare(claimed, now)
    rows = [
        (
            check.task + (f" [{check.variant}]" if check.variant else ""),
            check.split,
            check.metric,
            f"{check.claimed:.6f}",
            "–" if check.now is None else f"{check.now:.6f}",
            "–" if check.now is None else f"{abs(check.now - check.claimed):.1e}",
            check.grade,
        )
        for check in checks
    ]
    print_rows(
        console,
        f"verify {claimed.model.id}",
        ("task", "split", "metric", "file", "now", "|diff|", "grade"),
        rows,
    )
    for note in verify.differences(claimed, now):
        console.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
    grades = [check.grade for check in checks]
    console.print(
        f"{grades.count('OK')} OK, {grades.count('OKish')} OKish, {grades.count('FAIL')} FAIL "
        f"(OK: |diff| <= {verify.OK_TOLERANCE:g}; OKish: within each measure's tolerance for "
        f"{now.model.kind} models)",
        highlight=False,
    )
    record = verify.verification(checks, options.device)
    results.write_file(claimed.model_copy(update={"verifications": [*claimed.verifications, record]}), path)
    engine = store.connect(_db_url(args.db))
    try:
        in_database = store.record_verification(engine, results.digest(claimed), record)
    finally:
        engine.dispose()
    where = "the file and the database" if in_database else "the file (the run is not in the database)"
    state = "reproduced" if record.reproduced else "not reproduced"
    console.print(f"{state}: recorded in {where}", highlight=False)
    return 1 if "FAIL" in grades else 0


def cmd_board(args: argparse.Namespace, console: Console) -> int:
    """Replace this process by ``streamlit run`` of the packaged board page on 127.0.0.1, reading ``--db``."""
    import importlib.util

    from harness import store
    from harness.board import PAGE

    url = _db_url(args.db)
    store.connect(url, readonly=True).dispose()  # a bad URL or missing file fails here, in one line
    if importlib.util.find_spec("streamlit") is None:
        raise HarnessError("the board needs the [ui] extra: pip install 'repbench-harness[ui]'")
    command = [
        sys.executable, "-m", "streamlit", "run", str(PAGE),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(args.port),
        "--server.fileWatcherType", "none",
        "--browser.serverAddress", "localhost",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--", "--db", url,
    ]  # fmt: skip
    console.print(f"board: http://localhost:{args.port} (Ctrl+C stops it)", highlight=False, markup=False)
    sys.stdout.flush()
    os.execv(sys.executable, command)  # the server gets this pid, so stopping it stops the board


def cmd_distill(args: argparse.Namespace, console: Console) -> int:
    """Build (or find) the distilled model under the cache folder; print its folder and weights hash."""
    import time

    from harness.models import distill

    started = time.perf_counter()

    def progress(message: str) -> None:
        console.print(f"[{time.perf_counter() - started:6.1f} s] {message}", markup=False, highlight=False)

    folder = distill.build(_cache_dir(args.cache_dir), progress)
    manifest = distill.read_manifest(folder) or {}
    output = manifest.get("output")
    output = output if isinstance(output, dict) else {}
    console.print(f"model: {args.model}", markup=False, highlight=False)
    console.print(f"folder: {folder}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"weights sha256: {output.get('weights_sha256')}", markup=False, highlight=False)
    console.print(f"build took {manifest.get('elapsed_s')} s (recorded in build.json)", markup=False)
    return 0


def cmd_import(args: argparse.Namespace, console: Console) -> int:
    """Read every file first (one bad file: one line, exit 2, nothing kept or stored), then keep and store."""
    from harness import published, store
    from harness.published.sources import read_mteb_dir, read_pyserini_2cr
    from harness.store.published import store_sources

    kept = Path(args.published_dir)
    if args.import_kind == "mteb":
        sources = read_mteb_dir(Path(args.path))
    elif args.import_kind == "pyserini-2cr":
        sources = [read_pyserini_2cr(Path(args.path))]
    else:
        sources = published.read_kept(kept)
    engine = store.connect(_db_url(args.db))
    try:
        if args.import_kind != "all":
            published.keep(sources, kept)
        report = store_sources(engine, sources)
    finally:
        engine.dispose()
    console.print(
        f"{len(report.stored)} stored, {len(report.replaced)} replaced, {len(report.unchanged)} already "
        f"stored ({report.scores} scores); files kept under {kept}",
        markup=False,
        highlight=False,
    )
    return 0


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from harness import store
    from harness.published.export import export_mteb

    engine = store.connect(_db_url(args.db), readonly=True)
    try:
        written = export_mteb(engine, Path(args.out))
    finally:
        engine.dispose()
    for item in written:
        console.print(f"{item.task}: {item.main_score:.5f} -> {item.path}", markup=False, highlight=False)
    console.print(f"{len(written)} task results written under {args.out}", markup=False, highlight=False)
    if not written:
        console.print(
            "only reference runs (harness run here, or ingested from results/) are exported; "
            "submissions and imported scores are not ours to re-publish",
            markup=False,
            highlight=False,
        )
    return 0


def cmd_published(args: argparse.Namespace, console: Console) -> int:
    from harness import store
    from harness.board.queries import PUBLISHED_COLUMNS, published_comparison
    from harness.report import print_rows

    engine = store.connect(_db_url(args.db), readonly=True)
    try:
        comparison = published_comparison(engine)
    finally:
        engine.dispose()
    shown = PUBLISHED_COLUMNS[: PUBLISHED_COLUMNS.index("standing") + 1]
    numbers = {"published": "{:.5f}", "measured here": "{:.5f}", "difference": "{:+.5f}"}
    rows = [
        tuple(numbers.get(column, "{}").format(record[column]) for column in shown)
        for record in comparison.compared.to_dict("records")
    ]
    print_rows(console, "published vs measured here (same task, split, metric and data)", tuple(shown), rows)
    if args.all:
        others = [
            (str(r["model"]), str(r["source task"]), str(r["dataset revision"]), str(r["split"]),
             str(r["subset"]), str(r["metric"]), f"{r['published']:.5f}", str(r["status"]))
            for r in comparison.others.to_dict("records")
        ]  # fmt: skip
        print_rows(
            console,
            "published, not compared",
            ("model", "source task", "dataset revision", "split", "subset", "metric", "published", "status"),
            others,
        )
    else:
        console.print(
            f"{len(comparison.others)} published scores not compared (other dataset build, no task here, "
            "not measured here): --all lists them",
            markup=False,
            highlight=False,
        )
    return 0


COMMANDS = {
    "run": cmd_run,
    "import": cmd_import,
    "export": cmd_export,
    "published": cmd_published,
    "ingest": cmd_ingest,
    "list": cmd_list,
    "schema": cmd_schema,
    "fetch": cmd_fetch,
    "submit": cmd_submit,
    "leaderboard": cmd_leaderboard,
    "verify": cmd_verify,
    "board": cmd_board,
    "distill": cmd_distill,
    "circuit": cmd_circuit,
    "score": cmd_score,
    "battery": cmd_battery,
}


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so ``with`` blocks roll back and clean up."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminate)  # first: nothing may be half-stored
    try:
        return _main(argv)
    except Terminated:
        print("harness: terminated (SIGTERM); nothing was half-stored", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    # transformers' load report and weight-loading bar say nothing a user can act on
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    args = build_parser().parse_args(argv)
    # text from files is printed as it is: no markup, no :emoji: codes, no highlighting, anywhere
    console = Console(markup=False, emoji=False, highlight=False)
    if not console.is_terminal:  # logs and pipes: keep table rows whole
        console = Console(width=200, markup=False, emoji=False, highlight=False)
    try:
        return COMMANDS[args.command](args, console)
    except SettingError as error:
        print(f"harness: {FLAGS[error.setting]}: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as error:
        print(f"harness: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if type(error).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg")):
            from harness.store.engine import one_line

            print(f"harness: --db: database error: {printable(one_line(error))}", file=sys.stderr)
            return EXIT_USAGE
        raise
