"""``LuceneBm25``: BM25 in Lucene through Anserini, the BEIR "flat" and "multifield" baselines.

The conditions are Anserini's BEIR regressions (``beir-v1.0.0-<dataset>.{flat,multifield}.yaml`` in the
Anserini jar), which Pyserini's 2CR pages report:

* flat: one field, ``contents = title + " " + text``;
* multifield: ``contents = text`` and a separate ``title`` field (``-fields title``), searched with
  ``fields={"contents": 1.0, "title": 1.0}``;
* both: ``DefaultLuceneDocumentGenerator``, Anserini's default English analyzer, BM25 with k1=0.9,
  b=0.4, ties broken by doc id.

Anserini's regressions also pass ``-storePositions -storeDocvectors -storeRaw``. BM25 reads none of
them: scores come from term frequencies, document frequencies and norms, and ties are broken by the
``id`` doc values, which are always written. We leave them out. On SciFact (flat) the runs are
identical to the last bit (same doc ids, same float scores), the index is 1.2 MB instead of 11 MB, it
builds in half the time, and Lucene's side of searching 1,000 hits per query is 2-3 times faster:
each hit loads its stored fields to read its id, and those then hold only the id.

Anserini reads the BEIR corpus through ``BeirFlatCollection`` (title and text joined by a newline) and
``BeirMultifieldCollection``; we write the same documents as a ``JsonCollection``. The analyzer treats
the space and the newline alike, so the postings, and with them every score, are the same.

Searching (issue 14). Anserini's ``SimpleSearcher.batch_search`` (Pyserini's path, kept as
``search_batch_search``, the peer) returns one ``ScoredDoc`` per hit, each with its stored document
loaded; reading them from Python costs two JNI attribute reads and a wrapped Java object per hit, about
25 queries/s at k=1000 on SciFact, where Lucene's own scoring is a small part. ``search`` does not
search through Lucene at all: ``lucene_impacts`` reads the index's postings, norms and statistics once
(cached beside the index) and scores every query with Lucene 9's ``BM25Similarity`` arithmetic in
float32/float64 exactly as Lucene does it, over queries analyzed by ``SimpleSearcher``'s own analyzer
(one JNI batch). Then, in numpy, what ``SimpleSearcher`` adds on top of Lucene: its order (score, then
``id``: ``BREAK_SCORE_TIES_BY_DOCID``) and its ``ScoreTiesAdjusterReranker``, which rounds scores to
1e-4 and lowers tied ones by 1e-6 each (``_anserini_ties``). Measured on the way (issue 14, part 1):
one ``IndexSearcher.search`` per query with the batch of ``TopDocs`` written by Jackson was exact too,
but Lucene plus Jackson held it near 370 queries/s; the numpy scorer answers about 2,000. The tests
compare ``search`` with Pyserini's ``LuceneSearcher.batch_search`` on all 300 SciFact queries, flat and
multifield (ids, order, float scores), and at every cut through exact ties. One Python thread drives
Java: pyjnius binds a method to its object in a slot shared by every object of the class, so parallel
calls can cross.

Invariants: an index is built once per (condition, Anserini jar, corpus) and cached under
``cache_dir/lucene/<sha256>/``. It is built in a temporary folder and renamed into place after its
``COMPLETE`` marker is written, so a folder without the marker is never reused. Searching returns
exactly the top ``k`` hits per query in Lucene's order. A document whose ``contents`` is blank (in
multifield: a blank text) is not indexed, as in Anserini. Self-hits are not removed here; that is the
task's business (BEIR's ``--remove-query``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from harness.atomic import fsync_dir
from harness.errors import HarnessError
from harness.models import lucene_impacts
from harness.models.lucene_jvm import anserini_version, start_jvm
from harness.models.protocols import ModelInfo
from harness.types import Document, Run

Fields = Literal["flat", "multifield"]

ANALYZER = (
    "Anserini DefaultEnglishAnalyzer: Lucene StandardTokenizer, lowercase, "
    "Lucene's English stopword list, Porter stemmer"
)
MARKER = "COMPLETE"
"""Written last, inside the build folder, before the folder is renamed into the cache."""
_CACHE_FORMAT = 1
"""Bump when the documents written for Anserini or the index options change."""
_DOCS_PER_FILE = 10_000
"""Anserini indexes one collection file per thread; small corpora stay in one file, as in its regressions."""
_TIE_GAP = np.float32(1e-4)
_TIE_STEP = np.float32(1e-6)


def _anserini_ties(scores: npt.NDArray[np.float32]) -> list[float]:
    """Anserini's ``ScoreTiesAdjusterReranker`` (1.7.1), which ``SimpleSearcher`` runs on every result.

    Scores, in rank order, are rounded to 1e-4 (``Math.round(score * 1e4) / 1e4`` in double, then
    float); a score within 1e-4 of the one above is lowered by ``1e-6 * dup`` for the ``dup``-th tie in
    a row, all in float32 as Java does. Verified hit for hit against ``SimpleSearcher`` by the tests.
    """
    rounded = (np.floor(scores.astype(np.float64) * 1e4 + 0.5) / 1e4).astype(np.float32)
    tied = (np.flatnonzero(rounded[:-1] - rounded[1:] <= _TIE_GAP) + 1).tolist()
    if not tied:
        return rounded.tolist()  # type: ignore[no-any-return]
    out = rounded.copy()
    dup, i, next_tied, n = 0, tied[0], 0, len(out)
    while i < n:
        if dup == 0:  # the previous score is unperturbed: only a rounded tie starts a run
            while next_tied < len(tied) and tied[next_tied] < i:
                next_tied += 1
            if next_tied == len(tied):
                break
            i = tied[next_tied]
            dup = 1
        elif out[i - 1] - out[i] > _TIE_GAP:
            dup = 0
            i += 1
            continue
        else:
            dup += 1
        out[i] = out[i] - _TIE_STEP * np.float32(dup)
        i += 1
    return out.tolist()  # type: ignore[no-any-return]


class LuceneBm25:
    """BM25 over a Lucene index built by Anserini (Pyserini's jar), as Pyserini's BEIR baselines."""

    def __init__(
        self,
        fields: Fields,
        cache_dir: Path,
        k1: float = 0.9,
        b: float = 0.4,
        threads: int = 2,
    ) -> None:
        if fields not in get_args(Fields):
            raise HarnessError(f"Lucene BM25 fields must be 'flat' or 'multifield', not {fields!r}")
        if threads < 1:
            raise HarnessError(f"bm25-{fields}: threads must be at least 1, not {threads}")
        self.fields: Fields = fields
        self.cache_dir = Path(cache_dir)
        self.k1 = float(k1)
        self.b = float(b)
        self.threads = int(threads)
        self._jar = Path(start_jvm())
        self.info = ModelInfo(
            id=f"bm25-{fields}",
            kind="sparse",
            source="builtin",
            parameters={
                "k1": self.k1,
                "b": self.b,
                "fields": fields,
                "searched_fields": self._boosts(),
                "analyzer": ANALYZER,
                "index_options": "-fields title" if fields == "multifield" else "",
                "anserini_version": anserini_version(self._jar),
                "pyserini_version": metadata.version("pyserini"),
            },
        )
        self._index_dir: Path | None = None
        self._searcher: Any = None
        self._scored: lucene_impacts.Scoring | None = None
        self._reused = 0

    @property
    def index_dir(self) -> Path | None:
        """The cache folder of the current index (holding ``index/`` and the marker), once indexed."""
        return self._index_dir

    def index(self, docs: Sequence[Document]) -> None:
        if not docs:
            raise HarnessError(f"{self.info.id}: cannot index an empty corpus")
        target = self.cache_dir / "lucene" / self._cache_key(docs)
        if (target / MARKER).is_file():
            self._reused += len(docs)
        else:
            self._build(docs, target)
        self.close()
        self._index_dir = target
        self._scoring()  # reads (or loads) the index's statistics once, with the index, not per search

    def reused_items(self) -> int:
        """Documents whose index came from the cache rather than a build, so far."""
        return self._reused

    def index_bytes(self) -> int:
        """Bytes of the Lucene index files on disk."""
        if self._index_dir is None:
            return 0
        return sum(path.stat().st_size for path in (self._index_dir / "index").rglob("*") if path.is_file())

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        """Top ``k`` hits per query, in Lucene's order, with the scores ``SimpleSearcher`` returns.

        Scored in numpy from the index's statistics (``lucene_impacts``); the queries are analyzed by
        ``SimpleSearcher``'s analyzer, in one JNI batch. ``search_batch_search`` is Pyserini's path, the peer.
        """
        if k < 1:
            raise HarnessError(f"{self.info.id}: k must be at least 1, not {k}")
        scoring = self._scoring()
        qids = list(queries)
        counts = scoring.queries.counts([queries[qid] for qid in qids])
        run: Run = {}
        for batch in lucene_impacts.query_batches(len(scoring.ids), len(qids)):
            chosen = [counts[i] for i in batch]
            sums = [lucene_impacts.query_sums(field, chosen) for field in scoring.fields]
            total = sums[0] if len(sums) == 1 else sum(sums[1:], sums[0]).tocsc()
            for i, (docs, scores) in zip(batch, lucene_impacts.top_k(total, k, scoring.id_rank), strict=True):
                run[qids[i]] = dict(zip(scoring.ids[docs].tolist(), _anserini_ties(scores), strict=True))
        return run

    def search_batch_search(self, queries: Mapping[str, str], k: int) -> Run:
        """The same run as ``search``, from Anserini's ``SimpleSearcher.batch_search``, hit by hit.

        Same Java calls as ``pyserini.search.lucene.LuceneSearcher.set_bm25`` and ``batch_search``,
        without importing pyserini (which pulls in torch and transformers). Kept as ``search``'s peer
        (tests and benchmarks): it reads two Java attributes per hit, about 25 queries/s at k=1000.
        """
        if k < 1:
            raise HarnessError(f"{self.info.id}: k must be at least 1, not {k}")
        searcher = self._open()
        import jnius

        array_list = jnius.autoclass("java.util.ArrayList")
        qids, texts = array_list(), array_list()
        for qid, text in queries.items():
            qids.add(qid)
            texts.add(text)
        if self.fields == "multifield":
            java_float = jnius.autoclass("java.lang.Float")
            boosts = jnius.autoclass("java.util.HashMap")()
            for field, boost in self._boosts().items():
                boosts.put(field, java_float(boost))
            results = searcher.batch_search_fields(texts, qids, int(k), self.threads, boosts)
        else:
            results = searcher.batch_search(texts, qids, int(k), self.threads)
        run: Run = {}
        for qid in queries:
            hits = results.get(qid)
            if hits is None:
                raise HarnessError(f"{self.info.id}: Lucene returned nothing for query {qid!r} (see its log)")
            run[qid] = {hit.docid: hit.score for hit in hits}
        return run

    def close(self) -> None:
        """Release the open Lucene index, if any."""
        self._scored = None
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def _boosts(self) -> dict[str, float]:
        """Fields searched and their weights (Anserini's ``-fields contents=1.0 title=1.0``)."""
        return {"contents": 1.0, "title": 1.0} if self.fields == "multifield" else {"contents": 1.0}

    def _open(self) -> Any:
        if self._index_dir is None:
            raise RuntimeError("LuceneBm25.search() called before index()")
        if self._searcher is None:
            import jnius

            searcher = jnius.autoclass("io.anserini.search.SimpleSearcher")(str(self._index_dir / "index"))
            searcher.set_bm25(self.k1, self.b)
            self._searcher = searcher
        return self._searcher

    def _scoring(self) -> lucene_impacts.Scoring:
        if self._scored is None:
            if self._index_dir is None:
                raise RuntimeError("LuceneBm25.search() called before index()")
            fields = list(self._boosts())
            analyzer = self._open().get_analyzer()
            self._scored = lucene_impacts.scoring(self._index_dir, fields, self.k1, self.b, analyzer)
        return self._scored

    def _cache_key(self, docs: Sequence[Document]) -> str:
        digest = hashlib.sha256()
        header = {"format": _CACHE_FORMAT, "fields": self.fields, "jar": self._jar.name}
        digest.update(json.dumps(header, sort_keys=True).encode("utf-8") + b"\n")
        for doc in docs:
            record = json.dumps([doc.id, doc.title, doc.text], ensure_ascii=False)
            digest.update(record.encode("utf-8") + b"\n")
        return digest.hexdigest()

    def _json_lines(self, docs: Sequence[Document]) -> Iterator[str]:
        """Documents as Anserini's ``JsonCollection`` reads them, one JSON object a line."""
        seen: set[str] = set()
        for doc in docs:
            if doc.id in seen:
                raise HarnessError(f"{self.info.id}: duplicate document id {doc.id!r} in the corpus")
            seen.add(doc.id)
            if self.fields == "flat":
                record = {"id": doc.id, "contents": doc.title + " " + doc.text}
            else:
                record = {"id": doc.id, "contents": doc.text, "title": doc.title}
            yield json.dumps(record, ensure_ascii=False) + "\n"

    def _build(self, docs: Sequence[Document], target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f"{target.name}.tmp-", dir=target.parent))
        build.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any other
        try:
            collection = build / "collection"
            collection.mkdir()
            n_files = max(1, min(self.threads, len(docs) // _DOCS_PER_FILE))
            per_file = -(-len(docs) // n_files)
            lines = self._json_lines(docs)
            for part in range(n_files):
                with (collection / f"docs{part:03d}.jsonl").open("w", encoding="utf-8") as out:
                    for _ in range(min(per_file, len(docs) - part * per_file)):
                        out.write(next(lines))
            counts = self._run_indexer(collection, build / "index", n_files)
            shutil.rmtree(collection)
            unaccounted = len(docs) - counts["indexed"] - counts["empty"]
            if counts["errors"] or counts["unindexable"] or counts["skipped"] or unaccounted:
                raise HarnessError(f"{self.info.id}: Anserini did not index every document: {counts}")
            marker = {"documents": len(docs), **counts, "anserini_jar": self._jar.name, "fields": self.fields}
            with (build / MARKER).open("w", encoding="utf-8") as out:
                json.dump(marker, out, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            if target.exists():  # an earlier build that never completed
                shutil.rmtree(target)
            try:
                build.rename(target)
            except OSError:
                if not (target / MARKER).is_file():
                    raise
                # another process finished the same index first; theirs is as good as ours
        finally:
            if build.exists():
                shutil.rmtree(build)
        fsync_dir(target.parent)

    def _run_indexer(self, collection: Path, index: Path, threads: int) -> dict[str, int]:
        """``IndexCollection`` in this JVM, with the options of Anserini's BEIR regressions less the stores.

        The options go through Anserini's own parser (args4j), as ``IndexCollection.main`` does, but
        a bad option raises here, where ``main`` would print it and return without an index.
        """
        import jnius

        options = [
            "-collection", "JsonCollection",
            "-generator", "DefaultLuceneDocumentGenerator",
            "-input", str(collection),
            "-index", str(index),
            "-threads", str(threads),
            "-quiet",
        ]  # fmt: skip
        if self.fields == "multifield":
            options += ["-fields", "title"]
        java_options = jnius.autoclass("java.util.ArrayList")()
        for option in options:
            java_options.add(option)
        args = jnius.autoclass("io.anserini.index.IndexCollection$Args")()
        jnius.autoclass("org.kohsuke.args4j.CmdLineParser")(args).parseArgument(java_options)
        indexer = jnius.autoclass("io.anserini.index.IndexCollection")(args)
        indexer.run()
        counters = indexer.getCounters()
        return {
            name: int(getattr(counters, name).get())
            for name in ("indexed", "empty", "unindexable", "skipped", "errors")
        }
