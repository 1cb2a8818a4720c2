"""The pure parts of learned sparse search and pipelines: the exact top-k cut, the spec, the id gate.

The retrievers themselves run on real data in tests/integration/test_learned_sparse.py and
test_pipeline.py; here are the rules those runs depend on, on inputs small enough to reason about.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from harness.errors import InputError, SettingError
from harness.metrics.retrieval import ranked
from harness.models.learned_sparse import search_csr, top_k_row
from harness.models.pipeline import DEFAULT_DEPTH, parse
from harness.submit import check_model_id
from harness.timing import is_subphase

IDS = ["d0", "d1", "d2", "d3", "d4", "d5"]


def test_ties_at_the_cut_keep_the_larger_doc_ids_as_trec_eval_ranks_them() -> None:
    columns = np.array([0, 1, 2, 3, 4, 5])
    scores = np.array([1.0, 2.0, 1.0, 1.0, 3.0, 0.0])
    hits = top_k_row(IDS, columns, scores, 3)
    assert hits == {"d4": 3.0, "d1": 2.0, "d3": 1.0}
    full = {i: float(s) for i, s in zip(IDS, scores, strict=True) if s > 0}
    assert ranked(hits) == ranked(full)[:3]


def test_the_cut_does_not_depend_on_the_order_of_the_postings() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(1, 4, size=6).astype(np.float64)  # many ties
    for k in range(1, 7):
        expected = top_k_row(IDS, np.arange(6), scores, k)
        order = rng.permutation(6)
        assert top_k_row(IDS, order, scores[order], k) == expected


def test_no_shared_term_is_no_hit() -> None:
    assert top_k_row(IDS, np.array([0, 1]), np.array([0.0, 0.5]), 5) == {"d1": 0.5}


def test_search_csr_is_the_exact_dot_product() -> None:
    docs = csr_matrix(np.array([[1.0, 0, 2.0], [0, 1.0, 0], [0.5, 0.5, 0]], dtype=np.float32))
    queries = csr_matrix(np.array([[1.0, 0, 1.0], [0, 0, 0]], dtype=np.float32))
    run = search_csr(["q1", "q2"], queries, ["a", "b", "c"], docs, 10)
    assert run == {"q1": {"a": 3.0, "c": 0.5}, "q2": {}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("pipe:bm25-flat>all-MiniLM-L6-v2", ("bm25-flat", "all-MiniLM-L6-v2", DEFAULT_DEPTH)),
        ("pipe:bm25s>org/name@20", ("bm25s", "org/name", 20)),
    ],
)
def test_a_pipeline_spec_names_two_stages_and_a_depth(spec: str, expected: tuple[str, str, int]) -> None:
    assert parse(spec) == expected


@pytest.mark.parametrize("spec", ["pipe:a", "pipe:a>b@0", "pipe:a>b@1000001", "pipe:a>b>c", "pipe: >b"])
def test_a_malformed_spec_is_one_setting_error(spec: str) -> None:
    with pytest.raises(SettingError) as caught:
        parse(spec)
    assert caught.value.setting == "model" and "\n" not in str(caught.value)


def test_a_pipeline_id_passes_the_gate_and_a_look_alike_stage_does_not() -> None:
    check_model_id("pipe:bm25-flat>sentence-transformers/all-MiniLM-L6-v2@100", "f.json")
    with pytest.raises(InputError, match="looks like"):
        check_model_id("pipe:bm25-fIat>sentence-transformers/all-MiniLM-L6-v2@100", "f.json")
    with pytest.raises(InputError, match="not a model name"):
        check_model_id("pipe:bm25-flat>x y@100", "f.json")


def test_a_stage_is_a_subphase() -> None:
    assert is_subphase("search/first_stage") and not is_subphase("search")
