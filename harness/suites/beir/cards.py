"""Data cards of the public BEIR datasets (Thakur et al., NeurIPS 2021 Datasets and Benchmarks).

Every public dataset of BEIR's table has a card: its archive URL and MD5, and the published facts
(splits, evaluation split and its number of judged queries, corpus size), all copied from the
beir-cellar/beir README dataset table (``shared/data/published/beir-datasets.tsv``, HEAD ef83d29;
``tests/unit/test_beir_cards.py`` holds the cards to that file). BioASQ, Signal-1M, TREC-NEWS and
Robust04 are not redistributable (no URL, no MD5) and have no card.

Member sha256s and split counts are listed only where the bytes were checked end to end (SciFact:
the rebuild in ``shared/data`` reproduces Pyserini's and MTEB's published numbers, MANIFEST.md §1);
the others load as unverified. A loaded evaluation split whose number of judged queries differs
from the published one is not refused (a user may hold an older or trimmed copy) but named: the
CLI prints ``DatasetCard.published.query_count_note`` as a warning after the run, and the results
file records the counts read (``inputs.counts.queries``), so the difference stays visible.

Every task runs as Pyserini's BEIR 2CR conditions do (``pyserini/2cr/beir.yaml``: ``--hits 1000
--remove-query`` for every dataset); the evaluation split is ``test`` everywhere except MS MARCO,
whose published evaluation split is ``dev`` (6,980 queries).
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.data.cards import DatasetCard, PublishedFacts, SplitCard

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"
BEIR_LICENCE = "see the BEIR dataset table (beir-cellar/beir README)"
BEIR_SOURCE = "beir-cellar/beir README.md dataset table, ef83d29"

CQADUPSTACK_FORUMS = (
    "android",
    "english",
    "gaming",
    "gis",
    "mathematica",
    "physics",
    "programmers",
    "stats",
    "tex",
    "unix",
    "webmasters",
    "wordpress",
)
"""The 12 StackExchange forums of BEIR's ``cqadupstack.zip`` (``cqadupstack/<forum>/...``), each a
BEIR dataset of its own; BEIR and Pyserini report the mean of their scores."""


def beir_card(
    name: str,
    md5: str,
    *,
    splits: tuple[str, ...],
    eval_queries: int,
    corpus: str,
    eval_split: str = "test",
    licence: str = BEIR_LICENCE,
    checked: Mapping[str, SplitCard] | None = None,
    marker: str = "corpus.jsonl",
) -> DatasetCard:
    """The card of one BEIR dataset; ``checked`` holds the splits whose bytes were checked here.

    Every published split gets a ``SplitCard`` (so an unknown ``--split`` is refused); only the
    ``checked`` ones carry member sha256s and counts, and only those load as verified.
    """
    checked = checked or {}
    return DatasetCard(
        id=f"beir/{name}",
        name=name,
        locations=(f"beir/{name}.zip", f"beir/{name}", f"{name}.zip", name),
        marker=marker,
        licence=licence,
        url=BEIR_URL.format(name=name),
        splits={split: checked.get(split, SplitCard()) for split in splits},
        archive_md5=md5,
        published=PublishedFacts(
            source=BEIR_SOURCE, splits=splits, eval_split=eval_split, eval_queries=eval_queries, corpus=corpus
        ),
    )


_CORPUS = "ae39e2b331413acd6c58c262e3d2c1bf2b4afb5407ccfa6d06dd3f06e5da1f28"
_QUERIES = "21a70458954ee3ada1875570da4835dc4bf5619f2e2e38c14a665e97e9059f9d"

SCIFACT = beir_card(
    "scifact",
    "5f7d1de60b170fc8027bb7898e2efca1",
    splits=("train", "test"),
    eval_queries=300,
    corpus="5K",
    licence="claims CC BY 4.0; abstracts (S2ORC) ODC-By 1.0 (allenai/scifact LICENSE.md)",
    checked={
        "test": SplitCard(
            members={
                "corpus.jsonl": _CORPUS,
                "queries.jsonl": _QUERIES,
                "qrels/test.tsv": "68c0ac63f1c24b9e8ce497649694f09b2d0850bab7ec2b103cc66996f5f8b3a3",
            },
            counts={"corpus": 5183, "queries": 300, "qrels": 339},
        ),
        "train": SplitCard(
            members={
                "corpus.jsonl": _CORPUS,
                "queries.jsonl": _QUERIES,
                "qrels/train.tsv": "ac0902d9b1cb717df182aaff1306175877fdb8f55bb5c3e8597ad694fc8e539f",
            },
            counts={"corpus": 5183, "queries": 809, "qrels": 919},
        ),
    },
)

CQADUPSTACK = beir_card(
    "cqadupstack",
    "4e41456d7df8ee7760a7f866133bda78",
    splits=("test",),
    eval_queries=13145,
    corpus="457K",
    # the zip holds cqadupstack/<forum>/corpus.jsonl: the first forum's corpus locates the folder
    marker=f"{CQADUPSTACK_FORUMS[0]}/corpus.jsonl",
)

# Order: SciFact (the checked one) first, then BEIR's table. Archive MD5s, splits and counts from
# that table; no member hashes (no copy could be checked here).
CARDS: dict[str, DatasetCard] = {
    card.name: card
    for card in (
        SCIFACT,
        beir_card(
            "msmarco",
            "444067daf65d982533ea17ebd59501e4",
            splits=("train", "dev", "test"),
            eval_split="dev",
            eval_queries=6980,
            corpus="8.84M",
        ),
        beir_card(
            "trec-covid", "ce62140cb23feb9becf6270d0d1fe6d1", splits=("test",), eval_queries=50, corpus="171K"
        ),
        beir_card(
            "nfcorpus",
            "a89dba18a62ef92f7d323ec890a0d38d",
            splits=("train", "dev", "test"),
            eval_queries=323,
            corpus="3.6K",
        ),
        beir_card(
            "nq",
            "d4d3d2e48787a744b6f6e691ff534307",
            splits=("train", "test"),
            eval_queries=3452,
            corpus="2.68M",
        ),
        beir_card(
            "hotpotqa",
            "f412724f78b0d91183a0e86805e16114",
            splits=("train", "dev", "test"),
            eval_queries=7405,
            corpus="5.23M",
        ),
        beir_card(
            "fiqa",
            "17918ed23cd04fb15047f73e6c3bd9d9",
            splits=("train", "dev", "test"),
            eval_queries=648,
            corpus="57K",
        ),
        beir_card(
            "arguana", "8ad3e3c2a5867cdced806d6503f29b99", splits=("test",), eval_queries=1406, corpus="8.67K"
        ),
        # BEIR's Touché-2020 is v2 (the re-judged qrels); Pyserini's 2CR scores the same zip
        beir_card(
            "webis-touche2020",
            "46f650ba5a527fc69e0a6521c5a23563",
            splits=("test",),
            eval_queries=49,
            corpus="382K",
        ),
        CQADUPSTACK,
        beir_card(
            "quora",
            "18fb154900ba42a600f84b839c173167",
            splits=("dev", "test"),
            eval_queries=10000,
            corpus="523K",
        ),
        beir_card(
            "dbpedia-entity",
            "c2a39eb420a3164af735795df012ac2c",
            splits=("dev", "test"),
            eval_queries=400,
            corpus="4.63M",
        ),
        beir_card(
            "scidocs", "38121350fc3a4d2f48850f6aff52e4a9", splits=("test",), eval_queries=1000, corpus="25K"
        ),
        beir_card(
            "fever",
            "5a818580227bfb4b35bb6fa46d9b6c03",
            splits=("train", "dev", "test"),
            eval_queries=6666,
            corpus="5.42M",
        ),
        beir_card(
            "climate-fever",
            "8b66f0a9126c521bae2bde127b4dc99d",
            splits=("test",),
            eval_queries=1535,
            corpus="5.42M",
        ),
    )
}
