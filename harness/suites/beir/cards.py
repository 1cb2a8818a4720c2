"""Data cards of the BEIR datasets (Thakur et al., NeurIPS 2021 Datasets and Benchmarks).

Archive MD5s and URLs are BEIR's own (beir-cellar/beir README dataset table). Member sha256s and
split counts are listed only where the bytes were checked end to end (SciFact: the rebuild in
``shared/data`` reproduces Pyserini's and MTEB's published numbers, MANIFEST.md §1); the others load
as unverified until a checked copy is available.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.data.cards import DatasetCard, SplitCard

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"
BEIR_LICENCE = "see the BEIR dataset table (beir-cellar/beir README)"


def beir_card(
    name: str, md5: str, *, licence: str = BEIR_LICENCE, splits: Mapping[str, SplitCard] | None = None
) -> DatasetCard:
    return DatasetCard(
        id=f"beir/{name}",
        name=name,
        locations=(f"beir/{name}.zip", f"beir/{name}", f"{name}.zip", name),
        marker="corpus.jsonl",
        licence=licence,
        url=BEIR_URL.format(name=name),
        splits=splits or {},
        archive_md5=md5,
    )


_CORPUS = "ae39e2b331413acd6c58c262e3d2c1bf2b4afb5407ccfa6d06dd3f06e5da1f28"
_QUERIES = "21a70458954ee3ada1875570da4835dc4bf5619f2e2e38c14a665e97e9059f9d"

SCIFACT = beir_card(
    "scifact",
    "5f7d1de60b170fc8027bb7898e2efca1",
    licence="claims CC BY 4.0; abstracts (S2ORC) ODC-By 1.0 (allenai/scifact LICENSE.md)",
    splits={
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

CARDS: dict[str, DatasetCard] = {
    card.name: card
    for card in (
        SCIFACT,
        # Archive MD5s from the beir-cellar/beir README; member hashes unknown
        # here (no copy could be checked), so these load as unverified.
        beir_card("nfcorpus", "a89dba18a62ef92f7d323ec890a0d38d"),  # 323 test queries
        beir_card("arguana", "8ad3e3c2a5867cdced806d6503f29b99"),  # 1406 test queries
        beir_card("scidocs", "38121350fc3a4d2f48850f6aff52e4a9"),  # 1000 test queries
        beir_card("fiqa", "17918ed23cd04fb15047f73e6c3bd9d9"),  # 648 test queries
        beir_card("trec-covid", "ce62140cb23feb9becf6270d0d1fe6d1"),  # 50 test queries
        beir_card("quora", "18fb154900ba42a600f84b839c173167"),  # 10000 test queries
    )
}
