"""The shared vocabulary: documents, qrels and runs, as BEIR, pytrec_eval and ranx spell them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float32]
Qrels: TypeAlias = dict[str, dict[str, int]]
"""Query id -> doc id -> graded relevance (TREC qrels)."""
Run: TypeAlias = dict[str, dict[str, float]]
"""Query id -> doc id -> score (a TREC run, as pytrec_eval, ranx and BEIR take it)."""
JSONValue: TypeAlias = Any


@dataclass(frozen=True, slots=True)
class Document:
    """One corpus record; ``title`` is empty when the collection has none."""

    id: str
    text: str
    title: str = ""
