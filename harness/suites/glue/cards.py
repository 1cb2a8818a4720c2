"""Data cards of the glue suite: SentEval's transfer tasks and three GLUE sets, as the probes read them.

One table (``LAYOUTS``) says how each dataset is read: its format, its folder under the data root,
the files of its training and evaluation parts in reading order, its classes and its measures.
The card members and the reader's order both come from it, so they cannot drift apart.

What is read, and why (data: ``shared/data/MANIFEST.md`` §3; protocol: SentEval, Conneau & Kiela
2018, ``facebookresearch/SentEval``):

- ``sst2``: SentEval's ``SST/binary`` (= GLUE SST-2): train 67,349 -> ``dev`` 872, as GLUE scores
  SST-2 on its dev split (its test labels are hidden). ``sst5``: ``SST/fine``: train 8,544 -> ``test``
  2,210, SentEval's SST-5 test split.
- ``mrpc``: the untokenized MSR Paraphrase Corpus: train 4,076 -> ``test`` 1,725 (GLUE's test pairs).
- ``cola``: the official CoLA public release (raw, untokenized): ``in_domain_train`` 8,551 ->
  ``dev`` = ``in_domain_dev`` + ``out_of_domain_dev`` (1,043 = GLUE's CoLA dev.tsv).
- ``rte``: SuperGLUE's packaging of RTE: train 2,490 -> ``val`` 277 (= GLUE's RTE dev).
- ``trec``: ``train_5500`` 5,452 -> ``test`` (``TREC_10``) 500, the six coarse classes.
- ``mr``, ``cr``, ``subj``, ``mpqa``: one file per class; no split exists, so SentEval's protocol is
  10-fold cross-validation over every example (split ``cv``).

**Class indices** are the positions in ``Layout.classes``: SentEval's labels where SentEval numbers
them (SST's digits; TREC's ``ABBR, DESC, ENTY, HUM, LOC, NUM`` = 0..5, ``trec.py``; MR/CR/MPQA
``neg`` 0, ``pos`` 1, and SUBJ ``subjective`` 0, ``objective`` 1, as ``BinaryClassifierEval`` labels
its first (``pos``) file 1), the file's own 0/1 for MRPC and CoLA, and GLUE's label order for RTE
(``entailment`` 0, ``not_entailment`` 1). Results files store predicted class indices in this
numbering.

**Encodings.** TREC is read as ISO-8859-1, as SentEval's ``trec.py`` reads it: ``train_5500.label``
holds one non-UTF-8 byte (0xF0 in ``sister?city``), ``TREC_10.label`` is ASCII. Every other file is read
as strict UTF-8 (MRPC without its byte-order mark). SentEval reads MR, CR, SUBJ and MPQA as latin-1;
these copies are pure ASCII (checked), so both give the same text, and strict UTF-8 notices a
changed file where latin-1 would decode anything.

**Counts** (``_COUNTS``) are the published sizes (MANIFEST.md §3): ``train`` and ``eval`` examples
(for cross-validation both are the whole pool: every example is trained on in nine folds and held
out in one), ``classes``, and ``sentences``: distinct texts encoded (both sides of a pair), text
kept exactly as in the files. Member sha256s are from ``shared/data/SHA256SUMS``; CoLA's are of the
zip members, computed from ``glue/CoLA/cola_public.zip`` (whose own sha256 is in SHA256SUMS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from harness.data.cards import DatasetCard, SplitCard

Format = Literal["sst2", "sst5", "mrpc", "cola", "rte", "trec", "lines"]
"""``sst2``: ``sentence\\tlabel``; ``sst5``: ``label sentence``; ``mrpc``: ``label, id1, id2, s1, s2``
(tabs); ``cola``: ``source, label, original_mark, sentence`` (tabs); ``rte``: JSON lines;
``trec``: ``COARSE:fine question``; ``lines``: one sentence per line, the class given by the file."""

CV_SPLIT = "cv"
"""The split name of the cross-validated datasets: every example is predicted once per seed."""

SENTEVAL_URL = "https://github.com/facebookresearch/SentEval"


@dataclass(frozen=True)
class Layout:
    """How one dataset is read.

    Attributes:
        format: the line format of its files.
        folder: where it lives under the data root (a zip's members are relative to its marker's folder).
        split: the evaluation split (``cv``: cross-validation over ``train``).
        train: members read as training data, in order (``lines``: one file per class).
        evaluation: members read as the evaluation split, in order (empty for ``cv``).
        classes: class names; a class's index is its position.
        measures: metric names, the main metric first.
        pair: whether an example is a pair of texts (features ``[u, v, |u-v|, u*v]``).
        encoding: the codec every member is decoded with.
        file_classes: for ``lines``: the class of each member of ``train``.
    """

    format: Format
    folder: str
    split: str
    train: tuple[str, ...]
    evaluation: tuple[str, ...]
    classes: tuple[str, ...]
    measures: tuple[str, ...] = ("accuracy",)
    pair: bool = False
    encoding: str = "utf-8"
    file_classes: tuple[str, ...] = ()

    @property
    def members(self) -> tuple[str, ...]:
        """Every file read, relative to the dataset folder, in reading order."""
        return self.train + self.evaluation

    @property
    def cross_validated(self) -> bool:
        return self.split == CV_SPLIT


def _lines(folder: str, files: tuple[str, str], classes: tuple[str, str]) -> Layout:
    """A SentEval binary set: the first file is class 1 (SentEval's ``pos``), the second class 0."""
    return Layout(
        "lines",
        folder,
        CV_SPLIT,
        files,
        (),
        classes=classes,
        file_classes=(classes[1], classes[0]),
    )


_POLARITY = ("negative", "positive")

LAYOUTS: dict[str, Layout] = {
    "sst2": Layout(
        "sst2", "senteval/SST/binary", "dev", ("sentiment-train",), ("sentiment-dev",), ("0", "1")
    ),
    "sst5": Layout(
        "sst5",
        "senteval/SST/fine",
        "test",
        ("sentiment-train",),
        ("sentiment-test",),
        ("0", "1", "2", "3", "4"),
    ),
    "mrpc": Layout(
        "mrpc",
        "glue/MRPC",
        "test",
        ("msr_paraphrase_train.txt",),
        ("msr_paraphrase_test.txt",),
        ("0", "1"),
        measures=("accuracy", "f1"),
        pair=True,
    ),
    "cola": Layout(
        "cola",
        "glue/CoLA",
        "dev",
        ("raw/in_domain_train.tsv",),
        ("raw/in_domain_dev.tsv", "raw/out_of_domain_dev.tsv"),
        ("0", "1"),
        measures=("mcc", "accuracy"),
    ),
    "rte": Layout(
        "rte",
        "glue/RTE",
        "val",
        ("train.jsonl",),
        ("val.jsonl",),
        ("entailment", "not_entailment"),
        pair=True,
    ),
    "trec": Layout(
        "trec",
        "senteval/TREC",
        "test",
        ("train_5500.label",),
        ("TREC_10.label",),
        ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"),
        encoding="iso-8859-1",
    ),
    "mr": _lines("senteval/MR", ("rt-polarity.pos", "rt-polarity.neg"), _POLARITY),
    "cr": _lines("senteval/CR", ("custrev.pos", "custrev.neg"), _POLARITY),
    "subj": _lines("senteval/SUBJ", ("subj.objective", "subj.subjective"), ("subjective", "objective")),
    "mpqa": _lines("senteval/MPQA", ("mpqa.pos", "mpqa.neg"), _POLARITY),
}
"""Dataset name -> how it is read; the single source of its members, their order and its classes."""

_SHA256: dict[str, dict[str, str]] = {
    "sst2": {
        "sentiment-train": "10a92a297ec38e262386e5a2713b4bc70e5d18ced88b7f54bd171a26e5b34ab5",
        "sentiment-dev": "9a6c7403b71a9b762158387afe4431253ae10cdfb2319b5275289f3766f48291",
    },
    "sst5": {
        "sentiment-train": "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee",
        "sentiment-test": "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73",
    },
    "mrpc": {
        "msr_paraphrase_train.txt": "2b70c53140816300a37fc7195a43285a09ca204493b7241bfd8ce17cf411b309",
        "msr_paraphrase_test.txt": "209ea8fad226deac2e07e156b2a424cc1ca267c8c9697f8c3d5b369531d7b1d3",
    },
    "cola": {  # members of cola_public.zip (sha256 2cf856f4...81683278b), computed here
        "raw/in_domain_train.tsv": "f320a10f92d3bce6b29152fde322a362eac39238e50d8de0c8815457fdf4fc12",
        "raw/in_domain_dev.tsv": "77176f6a03faa5a1c4f23c69971fc1bff565931112fb65af47b2d6e24b7f42f7",
        "raw/out_of_domain_dev.tsv": "201b9c57b2a20f1282242eec0ed8995729e3be19c29a46c047b3727338836c05",
    },
    "rte": {
        "train.jsonl": "fdfb03443abe3ec0424b7fc5d1a8863361719bc061338b7a63e56b94d615f201",
        "val.jsonl": "ab990507bf5f35dc176cba7770a72bfa2c50a88ed72b8cc95cfbf9db95ab1af1",
    },
    "trec": {
        "train_5500.label": "8bd6e79493f43bbd22c364587366a1dced54e1e31259eaa92721a0f526031116",
        "TREC_10.label": "86ad53c8fc9d397ab2f4be7c967d8efb470b260140557d3e57afad69d1b88b76",
    },
    "mr": {
        "rt-polarity.pos": "34e5b0da2d491e46b700b00afe735aaae0962bcfe4f7f22b2d8077e714fa370f",
        "rt-polarity.neg": "c4ac36eaa8adc8ee31c31f69594bfbe68d83ef5b6db53f1f19b28c0be52f3999",
    },
    "cr": {
        "custrev.pos": "91a20a4ffeb5d38a39a4087bb247e16538aff21e7d621ae59738379f39f21732",
        "custrev.neg": "ec94532766f6f962094841ab3bee2ad6f232f996c3756825a91e78bcc294750f",
    },
    "subj": {
        "subj.objective": "d8ccd43f1674f1c17e4ab717564e3561cfb719b0db4cfb19e5677427c68ff8a1",
        "subj.subjective": "274c2ffe59c204dc4df779848561786f59a98cc20dda3cfdd7d9f76a4f730710",
    },
    "mpqa": {
        "mpqa.pos": "7487dbb74c77383e60b292845495163a9e21fb70a4fdacdda933413e43163f0d",
        "mpqa.neg": "8da6e035fa4cea02f0555091096b29a6b3995ff0adf41fad25008dcee066b79e",
    },
}
"""Dataset -> member -> sha256 of the checked copies (shared/data/SHA256SUMS; CoLA: its zip members)."""

_COUNTS: dict[str, dict[str, int]] = {
    "sst2": {"train": 67349, "eval": 872, "sentences": 67850, "classes": 2},
    "sst5": {"train": 8544, "eval": 2210, "sentences": 10742, "classes": 5},
    "mrpc": {"train": 4076, "eval": 1725, "sentences": 10944, "classes": 2},
    "cola": {"train": 8551, "eval": 1043, "sentences": 9553, "classes": 2},
    "rte": {"train": 2490, "eval": 277, "sentences": 4972, "classes": 2},
    "trec": {"train": 5452, "eval": 500, "sentences": 5871, "classes": 6},
    "mr": {"train": 10662, "eval": 10662, "sentences": 10662, "classes": 2},
    "cr": {"train": 3775, "eval": 3775, "sentences": 3766, "classes": 2},
    "subj": {"train": 10000, "eval": 10000, "sentences": 10000, "classes": 2},
    "mpqa": {"train": 10606, "eval": 10606, "sentences": 8241, "classes": 2},
}
"""Published example counts (MANIFEST.md §3) and distinct texts encoded (counted from the files)."""

_LICENCES: dict[str, str] = {
    "sst2": "no explicit licence; research use, cite Socher et al. 2013",
    "sst5": "no explicit licence; research use, cite Socher et al. 2013",
    "mrpc": "Microsoft Research Paraphrase Corpus licence (research use)",
    "cola": "sentences stay under their authors' copyright; research use as fair use (cola_public/README)",
    "rte": "PASCAL RTE challenge data; no explicit licence, research use",
    "trec": "no explicit licence; research use, cite Li & Roth 2002",
    "mr": "no explicit licence; research use, cite Pang & Lee 2005",
    "cr": "no explicit licence; research use, cite Hu & Liu 2004",
    "subj": "no explicit licence; research use, cite Pang & Lee 2004",
    "mpqa": "no explicit licence; research use, cite Wiebe et al. 2005",
}

_URLS: dict[str, str] = {
    "mrpc": "https://www.microsoft.com/en-us/download/details.aspx?id=52398",
    "cola": "https://nyu-mll.github.io/CoLA/",
    "rte": "https://super.gluebenchmark.com/tasks",
}


def _locations(name: str, layout: Layout) -> tuple[str, ...]:
    """Where the dataset may sit under the data root: CoLA as its release zip or unzipped."""
    if name == "cola":
        return (f"{layout.folder}/cola_public.zip", f"{layout.folder}/cola_public")
    return (layout.folder,)


def glue_card(name: str, counts: Mapping[str, int] | None = None) -> DatasetCard:
    """The card of one dataset of ``LAYOUTS``: its members and counts for its evaluation split."""
    layout = LAYOUTS[name]
    return DatasetCard(
        id=f"glue/{name}",
        name=name,
        locations=_locations(name, layout),
        marker=layout.train[0],
        licence=_LICENCES[name],
        url=_URLS.get(name, SENTEVAL_URL),
        splits={
            layout.split: SplitCard(
                members={member: _SHA256[name][member] for member in layout.members},
                counts=dict(counts if counts is not None else _COUNTS[name]),
            )
        },
        archive_md5=None,
    )


CARDS: dict[str, DatasetCard] = {name: glue_card(name) for name in LAYOUTS}
