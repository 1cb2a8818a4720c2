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

from harness.atomic import fsync_dir
from harness.errors import HarnessError
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

    def reused_items(self) -> int:
        """Documents whose index came from the cache rather than a build, so far."""
        return self._reused

    def index_bytes(self) -> int:
        """Bytes of the Lucene index files on disk."""
        if self._index_dir is None:
            return 0
        return sum(path.stat().st_size for path in (self._index_dir / "index").rglob("*") if path.is_file())

    def search(self, queries: Mapping[str, str], k: int) -> Run:
        """Top ``k`` hits per query from Anserini's ``SimpleSearcher.batch_search``, in Lucene's order.

        Same Java calls as ``pyserini.search.lucene.LuceneSearcher.set_bm25`` and ``batch_search``,
        without importing pyserini (which pulls in torch and transformers).
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
