"""Data cards: what the bytes of each dataset must be, so a load can say ``verified`` true or false.

Checksums are over member files, not archives: BEIR's ``scifact.zip`` and its unzipped folder give
the same fingerprint (as ``datasets`` verifies both checksums and split sizes). Member hashes are
listed only where we have checked the bytes end to end; a card without them loads, unverified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"


@dataclass(frozen=True)
class SplitCounts:
    corpus: int
    queries: int
    qrels: int


@dataclass(frozen=True)
class DatasetCard:
    """Identity of one dataset: where it lives under the data root and what its members hash to.

    ``members`` maps a path relative to the dataset folder to its sha256. ``zip_md5`` is the
    checksum BEIR publishes for its official archive (README dataset table), used by ``fetch``.
    """

    id: str
    name: str
    url: str
    licence: str
    zip_md5: str | None = None
    members: Mapping[str, str] = field(default_factory=dict)
    splits: Mapping[str, SplitCounts] = field(default_factory=dict)

    def locations(self) -> tuple[str, ...]:
        """Where the dataset may sit under a data root, tried in this order."""
        suite = self.id.split("/")[0]
        return (f"{suite}/{self.name}.zip", f"{suite}/{self.name}", f"{self.name}.zip", self.name)


def fingerprint(files: Mapping[str, str]) -> str:
    """sha256 of the sorted ``"path sha256"`` lines: one value for a set of member files."""
    lines = "".join(f"{path} {files[path]}\n" for path in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def _beir(
    name: str,
    md5: str,
    *,
    licence: str = "see the BEIR dataset table (beir-cellar/beir README)",
    members: Mapping[str, str] | None = None,
    splits: Mapping[str, SplitCounts] | None = None,
) -> DatasetCard:
    return DatasetCard(
        id=f"beir/{name}",
        name=name,
        url=BEIR_URL.format(name=name),
        licence=licence,
        zip_md5=md5,
        members=members or {},
        splits=splits or {},
    )


SCIFACT = _beir(
    "scifact",
    "5f7d1de60b170fc8027bb7898e2efca1",
    licence="claims CC BY 4.0; abstracts (S2ORC) ODC-By 1.0 (allenai/scifact LICENSE.md)",
    members={
        "corpus.jsonl": "ae39e2b331413acd6c58c262e3d2c1bf2b4afb5407ccfa6d06dd3f06e5da1f28",
        "queries.jsonl": "21a70458954ee3ada1875570da4835dc4bf5619f2e2e38c14a665e97e9059f9d",
        "qrels/test.tsv": "68c0ac63f1c24b9e8ce497649694f09b2d0850bab7ec2b103cc66996f5f8b3a3",
        "qrels/train.tsv": "ac0902d9b1cb717df182aaff1306175877fdb8f55bb5c3e8597ad694fc8e539f",
    },
    splits={"test": SplitCounts(corpus=5183, queries=300, qrels=339), "train": SplitCounts(5183, 809, 919)},
)

CARDS: dict[str, DatasetCard] = {
    card.id: card
    for card in (
        SCIFACT,
        # Archive MD5s from the beir-cellar/beir README; member hashes unknown
        # here (no copy could be checked), so these load as unverified.
        _beir("nfcorpus", "a89dba18a62ef92f7d323ec890a0d38d"),  # 323 test queries
        _beir("arguana", "8ad3e3c2a5867cdced806d6503f29b99"),  # 1406 test queries
        _beir("scidocs", "38121350fc3a4d2f48850f6aff52e4a9"),  # 1000 test queries
        _beir("fiqa", "17918ed23cd04fb15047f73e6c3bd9d9"),  # 648 test queries
        _beir("trec-covid", "ce62140cb23feb9becf6270d0d1fe6d1"),  # 50 test queries
        _beir("quora", "18fb154900ba42a600f84b839c173167"),  # 10000 test queries
    )
}
