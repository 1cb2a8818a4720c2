"""Which published task is which of ours, and which dataset builds are known to be our cards' data.

A published score names a task in its owner's words (MTEB ``SciFact``, Pyserini ``scifact``) and the
data it was measured on (MTEB's ``dataset_revision``, the hub commit of ``mteb/scifact``; Pyserini's
prebuilt index ``beir-v1.0.0-<dataset>``). The same task name has been scored on different builds:
``sentence-transformers__all-MiniLM-L6-v2/1b0428f…/SciFact.json`` holds 0.67393 on dataset revision
``7d24eac…`` (eng+fra), where the build of BEIR's SciFact gives 0.64508 (REFERENCES.md §1.2). So a
published score stands beside one measured here only when its (source task, dataset revision) is
listed below as **the same data as our card**, with the reason; every other build is shown as
"other dataset build" and never compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SAME_DATA = "same data as our card"
OTHER_BUILD = "other dataset build"
NO_TASK = "no task here"


@dataclass(frozen=True)
class TaskMap:
    """A published task: our task, the metric it is ranked by, and its builds known to equal our card."""

    task: str
    main_metric: str
    same_data: dict[str, str] = field(default_factory=dict)
    """Dataset revision -> why its data is our card's (a reproduced number, a count, a source)."""


_REPRODUCED = "REFERENCES.md §1.2: all-MiniLM-L6-v2 on our card's data gives {ours}, the file's {theirs}"

MTEB_TASKS: dict[str, TaskMap] = {
    "SciFact": TaskMap(
        "beir/scifact",
        "ndcg@10",
        {
            "0228b52cf27578f30900b9e5271d331663a030d7": _REPRODUCED.format(ours="0.64508", theirs="0.64508")
            + " (300 test queries, 5,183 documents: BEIR's SciFact)"
        },
    ),
    "NFCorpus": TaskMap("beir/nfcorpus", "ndcg@10"),
    "ArguAna": TaskMap("beir/arguana", "ndcg@10"),
    "SCIDOCS": TaskMap("beir/scidocs", "ndcg@10"),
    "FiQA2018": TaskMap("beir/fiqa", "ndcg@10"),
    "TRECCOVID": TaskMap("beir/trec-covid", "ndcg@10"),
    "QuoraRetrieval": TaskMap("beir/quora", "ndcg@10"),
    "STSBenchmark": TaskMap(
        "sts/stsb",
        "spearman",
        {
            "b0fddb56ed78048fa8b90373c8a3cfc37b684831": _REPRODUCED.format(ours="0.82032", theirs="0.82032")
            + " (1,379 test pairs)"
        },
    ),
    "SICK-R": TaskMap(
        "sts/sickr",
        "spearman",
        {
            "20a6d6f312dd54037fe07a32d58e5e168867909d": _REPRODUCED.format(ours="0.77582", theirs="0.77582")
            + " on all 9,927 SICK pairs (mteb/sickr-sts holds them all in its test split)"
        },
    ),
    "STS12": TaskMap(
        "sts/sts12",
        "spearman",
        {"a0d554a64d88156834ff5ae9920b964011b16384": _REPRODUCED.format(ours="0.72368", theirs="0.72369")},
    ),
    "STS13": TaskMap(
        "sts/sts13",
        "spearman",
        {
            "7e90230a92c190f1bf69ae9002b8cea547a64cca": _REPRODUCED.format(ours="0.80600", theirs="0.80603")
            + " (1,500 pairs, without SMT)"
        },
    ),
    "STS14": TaskMap(
        "sts/sts14",
        "spearman",
        {
            "6031580fec1f6af667f0bd2da0a551cf4f0b2375": _REPRODUCED.format(ours="0.75600", theirs="0.75589")
            + " (3,750 pairs, the published count)"
        },
    ),
    "STS15": TaskMap(
        "sts/sts15",
        "spearman",
        {"ae752c7c21bf194d8b67fd573edf7ae58183cbe3": _REPRODUCED.format(ours="0.85390", theirs="0.85390")},
    ),
    "STS16": TaskMap(
        "sts/sts16",
        "spearman",
        {"4d8694f8f0e0100860b497b999b3dbed754a0513": _REPRODUCED.format(ours="0.78986", theirs="0.78989")},
    ),
}
"""MTEB task name -> our task. Revisions not listed (NFCorpus ... Quora: not checked against a card
here) are other builds until someone reproduces them on the card's data and adds the reason."""

MTEB_METRICS: dict[str, str] = {"cosine_spearman": "spearman", "cosine_pearson": "pearson"}
"""MTEB score keys with a fixed name of ours; the rank-based ones follow ``MTEB_RANKED``. MTEB's
``spearman``/``pearson`` use the model's own similarity function, so they are *not* mapped (ours are of
the cosine), nor are nAUC, hit rate or the euclidean/manhattan correlations: unmapped scores are dropped."""

MTEB_RANKED = re.compile(r"(?P<measure>ndcg|map|recall|precision|mrr)_at_(?P<k>[1-9][0-9]{0,4})")
"""``ndcg_at_10`` -> ``ndcg@10`` (ir_measures spelling, as ``harness/metrics/measures.py``)."""

OUR_TO_MTEB: dict[str, str] = {
    **{ours: theirs for theirs, ours in MTEB_METRICS.items()},
}
"""Our metric -> MTEB's key, for ``harness export mteb`` (rank-based ones are spelled back by rule)."""


def mteb_metric(key: str) -> str | None:
    """Our name of an MTEB score key, or None where it has none (dropped on import)."""
    if key in MTEB_METRICS:
        return MTEB_METRICS[key]
    match = MTEB_RANKED.fullmatch(key)
    if match is None:
        return None
    return f"{match.group('measure')}@{match.group('k')}"


def to_mteb_metric(name: str) -> str | None:
    """MTEB's key for one of our metrics (``ndcg@10`` -> ``ndcg_at_10``), or None."""
    if name in OUR_TO_MTEB:
        return OUR_TO_MTEB[name]
    measure_name, _, k = name.partition("@")
    if k and measure_name in ("ndcg", "map", "recall", "precision", "mrr"):
        return f"{measure_name}_at_{k}"
    return None


def mteb_task_of(task: str) -> str | None:
    """MTEB's task name for one of ours (``beir/scifact`` -> ``SciFact``), or None."""
    for name, mapped in MTEB_TASKS.items():
        if mapped.task == task:
            return name
    return None


PYSERINI_DATA = "beir-v1.0.0"
"""The dataset build of every 2CR BEIR row: Pyserini's prebuilt indexes ``beir-v1.0.0-<dataset>.*``."""

PYSERINI_METRICS: dict[str, str] = {"nDCG@10": "ndcg@10", "R@100": "recall@100", "R@1000": "recall@1000"}
"""2CR column -> our metric; other columns are dropped."""

PYSERINI_MODELS: dict[str, str] = {
    "bm25-flat": "bm25-flat",
    "bm25-multifield": "bm25-multifield",
    "splade-pp-ed": "splade-pp-ed",
}
"""2CR condition -> the model id our runs of the same method carry (``harness list models``). The
condition is imported as model ``pyserini/<condition>``; conditions without a counterpart here
(contriever, BGE ...) are stored and shown, never compared."""

CQADUPSTACK_FORUMS = (
    "android", "english", "gaming", "gis", "mathematica", "physics",
    "programmers", "stats", "tex", "unix", "webmasters", "wordpress",
)  # fmt: skip
"""The 12 forums; BEIR and Pyserini score CQADupStack as the mean of the forums' scores."""

PYSERINI_TASKS: dict[str, TaskMap] = {
    "scifact": TaskMap(
        "beir/scifact",
        "ndcg@10",
        {
            PYSERINI_DATA: "our bm25-flat on our card's SciFact gives 0.6789 and bm25-multifield 0.6647, "
            "2CR's numbers (REFERENCES.md §1.2); beir-v1.0.0 is BEIR's scifact.zip"
        },
    ),
    **{
        name: TaskMap(
            f"beir/{name}",
            "ndcg@10",
            {
                PYSERINI_DATA: "Pyserini's beir-v1.0.0 indexes are built from BEIR's v1.0.0 zips, "
                "the archives "
                "our BEIR cards check (BEIR's published MD5)"
            },
        )
        for name in (
            "trec-covid",
            "nfcorpus",
            "nq",
            "hotpotqa",
            "fiqa",
            "arguana",
            "webis-touche2020",
            "quora",
            "dbpedia-entity",
            "scidocs",
            "fever",
            "climate-fever",
            "msmarco",
        )
    },  # fmt: skip
    **{
        f"cqadupstack-{forum}": TaskMap(
            "beir/cqadupstack",
            "ndcg@10",
            {PYSERINI_DATA: f"one forum of BEIR's v1.0.0 cqadupstack.zip (subset {forum!r}), as our card"},
        )
        for forum in CQADUPSTACK_FORUMS
    },
    "cqadupstack": TaskMap(
        "beir/cqadupstack",
        "ndcg@10",
        {
            PYSERINI_DATA: "the mean of the 12 forums' 2CR scores, computed at import "
            "(BEIR's and Pyserini's way)"
        },
    ),
}
"""2CR dataset -> our task. A forum is a subset of ``beir/cqadupstack`` (only the mean, subset
``default``, is compared, as our task scores the mean); bioasq, signal1m, trec-news and robust04
are not redistributable (no card
here), so they map to no task."""


def data_status(task: TaskMap | None, dataset_revision: str) -> tuple[str, str]:
    """(status, reason): ``SAME_DATA`` with its reason, ``OTHER_BUILD`` or ``NO_TASK``."""
    if task is None:
        return NO_TASK, "no task of ours is this published task"
    reason = task.same_data.get(dataset_revision)
    if reason is None:
        return OTHER_BUILD, f"dataset revision {dataset_revision} is not known to be {task.task}'s card data"
    return SAME_DATA, reason
