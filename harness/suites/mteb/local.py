"""mteb task classes that read local files under the data root: real data, no hub.

They let the mteb path run offline and be compared with our own tasks on the same data
(``shared/research/PACKAGES.md`` Q6: a task class with full ``TaskMetadata`` and its own
``load_data``). They are reached as ``--suite mteb --tasks harness.suites.mteb.local:LocalSTSBenchmark``;
any importable ``module:Class`` of an mteb task works the same way (the user's own task files).

- ``LocalSTSBenchmark``: the STS Benchmark test pairs exactly as our ``sts/stsb`` reads them (our reader
  and card, 1,379 pairs, same order), so mteb's scoring and ours meet on identical pairs.
- ``LocalSciFactSubset``: BEIR SciFact test (our reader), cut to its first ``QUERIES`` queries in
  qrels order and a corpus of their relevant documents plus the first ``DOCUMENTS`` documents in file
  order: a small real retrieval task that runs in seconds on a CPU.

``dataset.revision`` is a local marker; the files actually read are recorded (``harness_files``,
relative path -> sha256), and the mteb task's inputs fingerprint covers them.
Importing this module imports mteb and datasets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict  # type: ignore[import-untyped]
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
from mteb.abstasks.sts import AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata

from harness.suites.beir.cards import SCIFACT
from harness.suites.beir.data import load_beir
from harness.suites.sts.cards import CARDS as STS_CARDS
from harness.suites.sts.data import load_sts

QUERIES = 20
DOCUMENTS = 200

_COMMON: dict[str, Any] = {
    "category": "t2t",
    "eval_splits": ["test"],
    "eval_langs": ["eng-Latn"],
    "date": ("2017-01-01", "2020-12-31"),
    "dialect": [],
    "domains": [],
    "task_subtypes": [],
    "license": "not specified",
    "annotations_creators": "human-annotated",
    "modalities": ["text"],
    "sample_creation": "found",
    "bibtex_citation": "",
}


class LocalData:
    """A local task class: built with the data root it reads from (the mteb suite passes it)."""

    harness_files: dict[str, str]
    """The files read: path under the data root -> sha256 (in the inputs fingerprint)."""
    harness_spec: dict[str, int | str]
    """How the files were cut (a subset's sizes): in the inputs fingerprint too."""

    def __init__(self, data_root: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_root = data_root or Path()
        self.harness_files = {}
        self.harness_spec = {}


class LocalSTSBenchmark(LocalData, AbsTaskSTS):
    """STS Benchmark test from the local data root, read by our ``sts/stsb`` reader."""

    metadata = TaskMetadata(
        name="LocalSTSBenchmark",
        description="STS Benchmark test (1,379 pairs) read from the local data root by the harness's reader.",
        reference="http://ixa2.si.ehu.eus/stswiki/index.php/STSbenchmark",
        dataset={"path": "local/sts/stsbenchmark", "revision": "local"},
        type="STS",
        main_score="cosine_spearman",
        **_COMMON,
    )
    min_score = 0
    max_score = 5

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        data = load_sts(STS_CARDS["stsb"], self.data_root, "test")
        self.harness_files = {f"sts/stsbenchmark/{k}": v for k, v in data.inputs.files.items()}
        self.dataset = DatasetDict(
            {
                "test": Dataset.from_dict(
                    {
                        "sentence1": [data.sentences[i] for i in data.left],
                        "sentence2": [data.sentences[i] for i in data.right],
                        "score": list(data.gold),
                    }
                )
            }
        )
        self.data_loaded = True


class LocalSciFactSubset(LocalData, AbsTaskRetrieval):
    """A real subset of BEIR SciFact test, read from the local data root by our BEIR reader."""

    metadata = TaskMetadata(
        name="LocalSciFactSubset",
        description=f"BEIR SciFact test: the first {QUERIES} queries, their relevant documents and the first "
        f"{DOCUMENTS} documents, read from the local data root.",
        reference="https://github.com/beir-cellar/beir",
        dataset={"path": "local/beir/scifact", "revision": "local"},
        type="Retrieval",
        main_score="ndcg_at_10",
        **_COMMON,
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        data = load_beir(SCIFACT, self.data_root, "test")
        self.harness_spec = {"queries": QUERIES, "documents": DOCUMENTS}
        self.harness_files = {f"beir/scifact/{k}": v for k, v in data.inputs.files.items()}
        query_ids = list(data.qrels)[:QUERIES]
        relevant = {doc for qid in query_ids for doc in data.qrels[qid]}
        kept = [doc for index, doc in enumerate(data.corpus) if index < DOCUMENTS or doc.id in relevant]
        split = RetrievalSplitData(
            corpus=Dataset.from_list([{"id": d.id, "title": d.title, "text": d.text} for d in kept]),
            queries=Dataset.from_list([{"id": qid, "text": data.queries[qid]} for qid in query_ids]),
            relevant_docs={qid: dict(data.qrels[qid]) for qid in query_ids},
            top_ranked=None,
        )
        self.dataset = {"default": {"test": split}}
        self.data_loaded = True
