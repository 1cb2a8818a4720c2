"""The ``sts`` suite: semantic textual similarity, Spearman of cosine as MTEB scores it.

STS12–16 (each one pooled Spearman over its subsets, unscored pairs skipped, STS13 without SMT),
the STS Benchmark test split, SICK-R as MTEB scores it (all 9,927 pairs, ``sts/sickr``) and
SentEval's SICK test split (4,927 pairs, ``sts/sickr-test``). Data formats and pitfalls:
``shared/data/MANIFEST.md`` §2; reference numbers: ``shared/research/REFERENCES.md`` §1.2.
"""

from __future__ import annotations

from harness.data import user
from harness.data.cards import DatasetCard
from harness.models.protocols import Encoder
from harness.suites.base import BoardSpec, CardSuite, Rate
from harness.suites.sts.cards import CARDS
from harness.suites.sts.data import load_user_pairs
from harness.suites.sts.task import StsTask


def _task(card: DatasetCard, split: str) -> StsTask:
    return StsTask(card, split)


def _user_card(entry: user.UserEntry) -> DatasetCard:
    """A user's STS file, read once here so that a malformed line is named before the model loads.

    A TSV of pairs is small (STS-B's test split: 1,379 lines); reading it twice costs nothing, and the
    error then comes as the one line the user sees, not after minutes of model loading.
    """
    card = user.sts_card(entry)
    load_user_pairs(card)
    return card


SUITE = CardSuite(
    name="sts",
    description="semantic similarity: Spearman (main) and Pearson of cosine, MTEB's STS12-16, STS-B, SICK-R",
    model_types=(Encoder,),
    cards=CARDS,
    make_task=_task,
    user_card=_user_card,
    board=BoardSpec(
        rates=(
            Rate(
                "sentences/s",
                "sentences",
                "encode",
                "distinct sentences encoded per second, counts.sentences / timings_s.encode (an embedding "
                "cache hit makes this look fast)",
            ),
        ),
    ),
)
