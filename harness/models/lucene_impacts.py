"""Lucene's BM25 scored in numpy from the index's own statistics: the run Lucene returns, without Lucene.

Issue 14 asked for Lucene-exact BM25 at bm25s speed. Searching through Lucene costs at least one Java
search and a round trip per query; here the index is read once (``read_index``, one Java search per
*term* at index time, cached beside the index as ``impacts-v<N>.npz``) and every query after that is
sparse arithmetic in numpy/scipy.

What is read, per field: each term's postings with their term frequencies (a ``TermQuery`` searched
with Anserini's ``ImpactSimilarity``, whose score is ``freq * boost``, so each hit's score *is* its
term frequency; the whole batch of ``TopDocs`` comes back as one JSON string written by Jackson, as
in ``lucene.py``), each term's ``docFreq``, the field's ``CollectionStatistics`` (``docCount``,
``sumTotalTermFreq``) and each document's encoded norm byte (``LeafReader.getNormValues``).

The arithmetic is Lucene 9's ``BM25Similarity`` (the version in Anserini 1.7.1's jar; bytecode read
with ``javap``), in float32 where Lucene uses float:

* ``idf = (float) Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5))``, in double;
  ``Math.log`` is Java's own, called through JNI once per distinct ``docFreq``, so no libm can differ;
* ``avgdl = (float) (sumTotalTermFreq / (double) docCount)``;
* ``cache[i] = 1f / (k1 * ((1 - b) + b * LENGTH_TABLE[i] / avgdl))`` with
  ``LENGTH_TABLE[i] = SmallFloat.byte4ToInt((byte) i)`` (read from Lucene), all float ops;
* per query term with count ``c`` (Anserini's ``BagOfWordsQueryGenerator`` boosts a repeated term by
  its count): ``weight = c * idf``, ``score = weight - weight / (1f + freq * cache[norm])``;
* a document's score is the sum of its matching terms' scores accumulated in double and cast to
  float once (``WANDScorer``, ``BooleanScorer``, ``MaxScoreBulkScorer``: ``double score``, then
  ``(float)``); in double these few float32 terms sum exactly, so the order Lucene adds them in does
  not matter. Multifield (``contents`` and ``title``, boost 1.0 each) is one flat sum over both
  fields' terms: ``BoostQuery(q, 1f)`` rewrites to ``q`` and Lucene 9's ``BooleanQuery.rewrite``
  flattens nested pure disjunctions (the tests tell a nested, per-field float sum apart: it is not
  what Lucene returns).

A hit is a document matching at least one query term; every term score is positive (checked when
the index is read), so the hits are exactly the non-zero sums.
"""

from __future__ import annotations

import collections
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from harness.atomic import PUBLIC, atomic_write_bytes
from harness.errors import HarnessError

IMPACTS_FORMAT = 1
"""Bump when what ``read_index`` stores changes; the file name carries it, so an old file is ignored."""
_TERMS_PER_BATCH = 4096
"""Term searches per Jackson round trip while reading postings (bounds the JSON string held at once)."""
_BRACKETS = str.maketrans("[],", "   ")
_MAX_DENSE = 1 << 24
"""Most (document, query) cells scored at once: query batches shrink as the corpus grows."""

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FieldPostings:
    """One field of a Lucene index as stored statistics: enough to score BM25 with any k1 and b.

    ``tf`` is documents x terms (CSC, column ``j`` the postings of ``terms[j]``); ``norms`` the encoded
    norm byte per document (0 where the field is empty); ``doc_count`` and ``sum_total_term_freq``
    Lucene's ``CollectionStatistics`` for the field.
    """

    field: str
    terms: dict[str, int]
    tf: sp.csc_matrix
    doc_freq: I64
    norms: npt.NDArray[np.uint8]
    doc_count: int
    sum_total_term_freq: int


@dataclass(frozen=True)
class IndexStatistics:
    """What ``read_index`` takes from a Lucene index: its document ids and each field's postings."""

    ids: npt.NDArray[np.str_]
    fields: tuple[FieldPostings, ...]


@dataclass(frozen=True)
class FieldScorer:
    """A field's BM25 at fixed (k1, b): term idfs, each document's ``cache[norm]``, boost-1 impacts."""

    postings: FieldPostings
    idf: F32
    norm_inverse: F32
    impacts: sp.csc_matrix
    """Documents x terms, float64 holding float32 scores for a term of count 1 (exact in double)."""


def impacts_path(index_dir: Path) -> Path:
    """Where the statistics of the Lucene index in ``index_dir/index`` are cached."""
    return index_dir / f"impacts-v{IMPACTS_FORMAT}.npz"


def _parse_top_docs(text: str, expected: int) -> list[tuple[I64, F32]]:
    """(docs, scores) per ``TopDocs`` of a Jackson-written batch (``ScoreDoc`` as ``[doc, score, shard]``)."""
    out = []
    for part in text.split('"scoreDocs":')[1:]:
        hits = part[: part.index("]]") + 2] if not part.startswith("[]") else ""
        flat = np.fromstring(hits.translate(_BRACKETS), dtype=np.float64, sep=" ")
        triples = flat.reshape(-1, 3)  # doc ids < 2**31 and float32 values are exact in float64
        out.append((triples[:, 0].astype(np.int64), triples[:, 1].astype(np.float32)))
    if len(out) != expected:
        raise HarnessError(f"Lucene search: {len(out)} results for {expected} queries")
    return out


class JavaJson:
    """Jackson (in the Anserini jar) set to write a Lucene ``ScoreDoc`` as ``[doc, score, shardIndex]``.

    Jackson writes a float with ``Float.toString``'s shortest round-trip digits, so float32 values
    come back bit for bit; one JSON string per batch replaces a JNI round trip per hit.
    """

    def __init__(self) -> None:
        import jnius

        cls = jnius.autoclass
        self._mapper = cls("com.fasterxml.jackson.databind.ObjectMapper")()
        self._mapper.configure(
            cls("com.fasterxml.jackson.databind.MapperFeature").SORT_PROPERTIES_ALPHABETICALLY, True
        )
        score_doc = cls("org.apache.lucene.search.ScoreDoc")
        array_shape = cls("com.fasterxml.jackson.annotation.JsonFormat$Shape").ARRAY
        format_value = cls("com.fasterxml.jackson.annotation.JsonFormat$Value").forShape(array_shape)
        self._mapper.configOverride(score_doc).setFormat(format_value)
        if json.loads(self.write(score_doc(7, 0.5))) != [7, 0.5, -1]:
            raise HarnessError(
                "Jackson in the Anserini jar no longer writes a ScoreDoc as [doc, score, shard]"
            )

    def write(self, value: Any) -> str:
        return str(self._mapper.writeValueAsString(value))

    def top_docs(self, batch: Any, expected: int) -> list[tuple[I64, F32]]:
        """Each ``TopDocs`` of the Java list ``batch`` as (docs, scores), from one JSON string."""
        return _parse_top_docs(self.write(batch), expected)


def read_index(index: Path, fields: Sequence[str]) -> IndexStatistics:
    """Read document ids, postings with term frequencies, norms and collection statistics, once.

    One ``TermQuery`` search per term under ``ImpactSimilarity`` (score = term frequency), batched
    through Jackson; norms and ids one document at a time (two JNI calls each), which is where the
    time goes on a large corpus: on SciFact (5,183 documents) the whole read takes a few seconds.
    """
    import jnius

    cls = jnius.autoclass
    directory = cls("org.apache.lucene.store.FSDirectory").open(cls("java.io.File")(str(index)).toPath())
    reader = cls("org.apache.lucene.index.DirectoryReader").open(directory)
    try:
        n_docs = int(reader.maxDoc())
        if int(reader.numDeletedDocs()) != 0:
            raise HarnessError(f"{index}: the index has deleted documents; rebuild it")
        stored = reader.storedFields()
        ids = np.array([str(stored.document(doc).get("id")) for doc in range(n_docs)], dtype=np.str_)
        searcher = cls("org.apache.lucene.search.IndexSearcher")(reader.getContext())
        searcher.setSimilarity(cls("io.anserini.search.similarity.ImpactSimilarity")())
        jackson = JavaJson()
        read = tuple(_read_field(reader, searcher, jackson, field, n_docs) for field in fields)
    finally:
        reader.close()
    return IndexStatistics(ids=ids, fields=read)


def _read_field(reader: Any, searcher: Any, jackson: JavaJson, field: str, n_docs: int) -> FieldPostings:
    import jnius

    cls = jnius.autoclass
    term_class, term_query = cls("org.apache.lucene.index.Term"), cls("org.apache.lucene.search.TermQuery")
    stats = searcher.collectionStatistics(field)
    # getTerms(IndexReader, String): pyjnius needs the declared type to pick the overload
    as_index_reader = jnius.cast("org.apache.lucene.index.IndexReader", reader)
    terms = cls("org.apache.lucene.index.MultiTerms").getTerms(as_index_reader, field)
    names: list[str] = []
    doc_freq: list[int] = []
    columns: list[tuple[I64, F32]] = []
    if terms is not None:
        iterator = terms.iterator()
        batch = cls("java.util.ArrayList")()
        while True:
            term = iterator.next()
            if term is None or batch.size() == _TERMS_PER_BATCH:
                columns += jackson.top_docs(batch, int(batch.size()))
                batch.clear()
            if term is None:
                break
            name, df = str(term.utf8ToString()), int(iterator.docFreq())
            names.append(name)
            doc_freq.append(df)
            batch.add(searcher.search(term_query(term_class(field, name)), df))
    lengths = np.fromiter((len(docs) for docs, _ in columns), dtype=np.int64, count=len(columns))
    if not np.array_equal(lengths, np.array(doc_freq, dtype=np.int64)):
        raise HarnessError(f"Lucene field {field!r}: postings read do not match the terms' docFreq")
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    rows = np.concatenate([docs for docs, _ in columns]) if columns else np.zeros(0, np.int64)
    tf = np.concatenate([freqs for _, freqs in columns]) if columns else np.zeros(0, np.float32)
    matrix = sp.csc_matrix((tf, rows, indptr), shape=(n_docs, len(names)))
    matrix.sort_indices()
    norms = np.zeros(n_docs, dtype=np.uint8)
    no_more = int(cls("org.apache.lucene.search.DocIdSetIterator").NO_MORE_DOCS)
    for leaf in reader.leaves().toArray():
        base, values = int(leaf.docBase), leaf.reader().getNormValues(field)
        if values is None:
            continue
        doc = int(values.nextDoc())
        while doc != no_more:
            norms[base + doc] = int(values.longValue()) & 0xFF
            doc = int(values.nextDoc())
    return FieldPostings(
        field=field,
        terms={name: j for j, name in enumerate(names)},
        tf=matrix,
        doc_freq=np.array(doc_freq, dtype=np.int64),
        norms=norms,
        doc_count=int(stats.docCount()) if stats is not None else 0,
        sum_total_term_freq=int(stats.sumTotalTermFreq()) if stats is not None else 0,
    )


def save(statistics: IndexStatistics, path: Path) -> None:
    """Write ``statistics`` to ``path`` atomically (a temporary file renamed into place)."""
    arrays: dict[str, npt.NDArray[Any]] = {"ids": statistics.ids}
    described = []
    for number, field in enumerate(statistics.fields):
        prefix = f"f{number}_"
        described.append(
            {"field": field.field, "doc_count": field.doc_count, "sum_total": field.sum_total_term_freq}
        )
        arrays |= {
            prefix + "terms": np.array(list(field.terms), dtype=np.str_),
            prefix + "indptr": field.tf.indptr.astype(np.int64),
            prefix + "indices": field.tf.indices.astype(np.int32),
            prefix + "tf": field.tf.data.astype(np.float32),
            prefix + "doc_freq": field.doc_freq,
            prefix + "norms": field.norms,
        }
    arrays["header"] = np.array(json.dumps({"format": IMPACTS_FORMAT, "fields": described}))
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    atomic_write_bytes(path, buffer.getvalue(), mode=PUBLIC)


def load(path: Path) -> IndexStatistics:
    """Read what ``save`` wrote (our own cache file: no pickles)."""
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(str(archive["header"]))
        if header.get("format") != IMPACTS_FORMAT:
            raise HarnessError(f"{path}: impacts format {header.get('format')}, expected {IMPACTS_FORMAT}")
        ids = archive["ids"]
        fields = []
        for number, meta in enumerate(header["fields"]):
            prefix = f"f{number}_"
            names = archive[prefix + "terms"].tolist()
            tf = sp.csc_matrix(
                (archive[prefix + "tf"], archive[prefix + "indices"], archive[prefix + "indptr"]),
                shape=(len(ids), len(names)),
            )
            fields.append(
                FieldPostings(
                    field=meta["field"],
                    terms={name: j for j, name in enumerate(names)},
                    tf=tf,
                    doc_freq=archive[prefix + "doc_freq"],
                    norms=archive[prefix + "norms"],
                    doc_count=int(meta["doc_count"]),
                    sum_total_term_freq=int(meta["sum_total"]),
                )
            )
    return IndexStatistics(ids=ids, fields=tuple(fields))


def length_table() -> F32:
    """``BM25Similarity.LENGTH_TABLE``: ``(float) SmallFloat.byte4ToInt((byte) i)``, from Lucene itself."""
    import jnius

    small_float = jnius.autoclass("org.apache.lucene.util.SmallFloat")
    return np.array([small_float.byte4ToInt(i - 256 if i > 127 else i) for i in range(256)], dtype=np.float32)


def java_idf(doc_freq: I64, doc_count: int) -> F32:
    """``BM25Similarity.idf`` per term, with Java's own ``Math.log`` (once per distinct ``docFreq``)."""
    import jnius

    java_math = jnius.autoclass("java.lang.Math")
    distinct, inverse = np.unique(doc_freq, return_inverse=True)
    values = [java_math.log(1.0 + (doc_count - int(df) + 0.5) / (int(df) + 0.5)) for df in distinct.tolist()]
    return np.array(values, dtype=np.float64).astype(np.float32)[inverse]


def field_scorer(postings: FieldPostings, k1: float, b: float, lengths: F32) -> FieldScorer:
    """Precompute a field's idf, per-document ``cache[norm]`` and boost-1 term scores (float32, as Lucene)."""
    k1_f, b_f, one = np.float32(k1), np.float32(b), np.float32(1.0)
    avgdl = np.float32(postings.sum_total_term_freq / postings.doc_count) if postings.doc_count else one
    cache = one / (k1_f * ((one - b_f) + b_f * lengths / avgdl))
    norm_inverse = cache[postings.norms].astype(np.float32)
    idf = java_idf(postings.doc_freq, postings.doc_count)
    tf = postings.tf
    weights = np.repeat(idf, np.diff(tf.indptr))
    scores = _term_scores(weights, tf.data.astype(np.float32), norm_inverse[tf.indices])
    if scores.size and not (scores > 0).all():
        raise HarnessError(f"Lucene field {postings.field!r}: a BM25 term score is not positive")
    impacts = sp.csc_matrix((scores.astype(np.float64), tf.indices, tf.indptr), shape=tf.shape)
    return FieldScorer(postings=postings, idf=idf, norm_inverse=norm_inverse, impacts=impacts)


def _term_scores(weight: F32, freq: F32, norm_inverse: F32) -> F32:
    """``BM25Scorer.score``: ``weight - weight / (1f + freq * normInverse)``, float32 step by step."""
    return (weight - weight / (np.float32(1.0) + freq * norm_inverse)).astype(np.float32)


def query_sums(scorer: FieldScorer, queries: Sequence[Mapping[str, int]]) -> sp.csc_matrix:
    """Documents x queries: each query's term scores on this field summed in double (exact).

    Terms of count 1 are a sparse product with the precomputed impacts; a repeated term's weight is
    ``count * idf`` in float32, so its scores are computed from its postings.
    """
    rows: list[int] = []
    cols: list[int] = []
    extra: list[tuple[I64, int, F32]] = []
    tf = scorer.postings.tf
    for q, counts in enumerate(queries):
        for term, count in counts.items():
            j = scorer.postings.terms.get(term)
            if j is None:
                continue  # a term the field never saw matches nothing, as in Lucene
            if count == 1:
                rows.append(j)
                cols.append(q)
            else:
                start, end = tf.indptr[j], tf.indptr[j + 1]
                docs = tf.indices[start:end]
                weight = np.float32(count) * scorer.idf[j]
                values = _term_scores(
                    weight, tf.data[start:end].astype(np.float32), scorer.norm_inverse[docs]
                )
                extra.append((docs.astype(np.int64), q, values))
    n_terms, n_queries = scorer.impacts.shape[1], len(queries)
    selection = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_terms, n_queries))
    sums: sp.csc_matrix = (scorer.impacts @ selection).tocsc()
    if extra:
        docs = np.concatenate([d for d, _, _ in extra])
        queries_of = np.concatenate([np.full(len(d), q, dtype=np.int64) for d, q, _ in extra])
        values = np.concatenate([v for _, _, v in extra]).astype(np.float64)
        sums = (sums + sp.csc_matrix((values, (docs, queries_of)), shape=sums.shape)).tocsc()
    return sums


class QueryAnalyzer:
    """Query texts to terms and counts, as ``BagOfWordsQueryGenerator`` makes them, one JNI batch a call.

    ``AnalyzerUtils.analyze`` with the searcher's analyzer per text; the token lists come back as one
    JSON string. The Java classes are looked up here, once (pyjnius reflection costs about a second).
    """

    def __init__(self, analyzer: Any, jackson: JavaJson) -> None:
        import jnius

        self._analyzer = analyzer
        self._analyze = jnius.autoclass("io.anserini.analysis.AnalyzerUtils").analyze
        self._array_list = jnius.autoclass("java.util.ArrayList")
        self._jackson = jackson

    def counts(self, texts: Sequence[str]) -> list[dict[str, int]]:
        batch = self._array_list()
        for text in texts:
            batch.add(self._analyze(self._analyzer, text))
        tokens: list[list[str]] = json.loads(self._jackson.write(batch))
        return [dict(collections.Counter(words)) for words in tokens]


def query_batches(n_docs: int, n_queries: int) -> list[range]:
    """Query ranges small enough that a batch's (document, query) cells stay under ``_MAX_DENSE``."""
    size = max(1, min(n_queries, _MAX_DENSE // max(1, n_docs)))
    return [range(start, min(start + size, n_queries)) for start in range(0, n_queries, size)]


def top_k(scores: sp.csc_matrix, k: int, id_rank: I64) -> list[tuple[I64, F32]]:
    """Per query column: the top ``k`` (doc, float32 score) by score, then id (Anserini's order)."""
    out = []
    for q in range(scores.shape[1]):
        start, end = scores.indptr[q], scores.indptr[q + 1]
        docs = scores.indices[start:end].astype(np.int64)
        values = scores.data[start:end].astype(np.float32)
        if len(docs) > k:
            cut = np.partition(values, len(values) - k)[len(values) - k]
            keep = values >= cut  # every document tied at the cut stays in for the id order
            docs, values = docs[keep], values[keep]
        order = np.lexsort((id_rank[docs], -values))[:k]
        out.append((docs[order], values[order]))
    return out


@dataclass(frozen=True)
class Scoring:
    """An index ready to score: ids, their code-point rank (Anserini's tie order), each field's scorer."""

    ids: npt.NDArray[np.str_]
    id_rank: I64
    fields: tuple[FieldScorer, ...]
    queries: QueryAnalyzer


def scoring(index_dir: Path, fields: Sequence[str], k1: float, b: float, analyzer: Any) -> Scoring:
    """The index in ``index_dir/index`` ready to score, its statistics read once and cached beside it.

    ``analyzer`` is the Java analyzer queries go through (``SimpleSearcher.get_analyzer()``).

    ``id_rank`` orders ids by code point, the order of Anserini's ``BREAK_SCORE_TIES_BY_DOCID`` (which
    compares the ids' UTF-8 bytes).
    """
    path = impacts_path(index_dir)
    if path.is_file():
        statistics = load(path)
    else:
        statistics = read_index(index_dir / "index", fields)
        save(statistics, path)
    if tuple(field.field for field in statistics.fields) != tuple(fields):
        raise HarnessError(f"{path}: holds fields {[f.field for f in statistics.fields]}, not {list(fields)}")
    lengths = length_table()
    id_rank = np.empty(len(statistics.ids), dtype=np.int64)
    id_rank[np.argsort(statistics.ids, kind="stable")] = np.arange(len(statistics.ids))
    return Scoring(
        ids=statistics.ids,
        id_rank=id_rank,
        fields=tuple(field_scorer(field, k1, b, lengths) for field in statistics.fields),
        queries=QueryAnalyzer(analyzer, JavaJson()),
    )
