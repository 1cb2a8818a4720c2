"""``kernels/attention-[causal-]n<N>``: an attention kernel's speed-up over exact attention, and its error.

One task is one shape. Speed: the kernel and the peer (torch's ``scaled_dot_product_attention``,
``ExactAttention``) run alternately on the same seeded standard-normal inputs, [1, heads, n, 64],
after a warm-up; ``seconds`` and ``seconds_exact`` are the medians, and ``speedup`` their ratio, so
speed is a ratio measured in one run (DESIGN §8). Accuracy: the relative Frobenius error of the
kernel's output against a float64 exact reference, ``rel_error`` on real sequences (SciFact through
all-MiniLM-L6-v2 layer 3's own Q/K/V, [1, 12, n, 32]; ``sequences.py``) and ``rel_error_random`` on
the timing inputs. Above 4,096 tokens the reference covers 4,096 query rows drawn with the task's
seed (each row of attention is computed independently of the others, so this is an unbiased sample
of the rows, and a float64 reference of every row of 8 heads at 16k would take minutes on 2 cores).

On random normal inputs attention is nearly uniform and its output nearly zero, so every sampling
method has a large *relative* error there: ``rel_error_random`` says so plainly rather than hiding
it; real attention is peaked, which is what HyperAttention's analysis assumes.

The GPU shapes (``attention-gpu-…``: 32 heads, bfloat16, to 131k tokens, as the HyperAttention
paper's benchmark) run only on a CUDA device.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.data.cards import DatasetCard, generated_fingerprint
from harness.errors import FieldError
from harness.metrics.measures import Measure, measure
from harness.models.dense import MINILM_ID, MINILM_REVISION
from harness.models.kernel_models import AttentionModel
from harness.results import Inputs, TaskResult
from harness.suites.base import Scores
from harness.suites.beir.cards import SCIFACT
from harness.suites.beir.data import BeirDataset, load_beir
from harness.suites.checks import check_recomputed
from harness.suites.kernels.sequences import DOCUMENT_TOKENS, REAL_LAYER
from harness.timing import Timer
from harness.types import JSONValue

if TYPE_CHECKING:
    import torch

    from harness.suites.kernels.sequences import Qkv

REFERENCE_ROWS = 4096
"""Query rows of the float64 reference above this length (a seeded sample; see the module)."""

REFERENCE_CHUNK = 512
"""Query rows per float64 block: 512 x 16k x 8 bytes = 64 MiB per head."""

ATTENTION_METRICS = (
    "speedup",
    "rel_error",
    "rel_error_random",
    "seconds",
    "seconds_exact",
    "peak_mib",
    "peak_mib_exact",
)


@dataclass(frozen=True)
class Shape:
    """One benchmark shape: sequence length, heads, head dimension, masking, precision, device kind."""

    n: int
    causal: bool
    heads: int = 8
    head_dim: int = 64
    dtype: str = "float32"
    gpu: bool = False

    @property
    def dataset(self) -> str:
        return f"attention-{'gpu-' if self.gpu else ''}{'causal-' if self.causal else ''}n{self.n}"

    @property
    def torch_dtype(self) -> torch.dtype:
        import torch

        dtype: torch.dtype = getattr(torch, self.dtype)
        return dtype

    @property
    def repeats(self) -> int:
        """Timed calls of each kernel: more where a call is short and the clock's noise is large."""
        if self.gpu:
            return 10
        return 5 if self.n <= 2048 else 3 if self.n <= 4096 else 2


CPU_SHAPES = tuple(Shape(n, causal) for causal in (False, True) for n in (1024, 2048, 4096, 8192, 16384))
GPU_SHAPES = tuple(
    Shape(2**p, causal, heads=32, dtype="bfloat16", gpu=True)
    for causal in (False, True)
    for p in range(10, 18)
)


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def paired_medians(
    peer: Callable[[], torch.Tensor], ours: Callable[[], torch.Tensor], repeats: int, device: str
) -> tuple[float, float, torch.Tensor]:
    """Median seconds of ``peer`` and ``ours`` timed alternately, and ``ours``'s last output."""
    peer_times: list[float] = []
    our_times: list[float] = []
    out = ours()  # warm-up of ours (the peer is warmed up by the caller on a short slice)
    for _ in range(repeats):
        for function, times in ((peer, peer_times), (ours, our_times)):
            synchronize(device)
            start = time.perf_counter()
            result = function()
            synchronize(device)
            times.append(time.perf_counter() - start)
            if function is ours:
                out = result
    return statistics.median(peer_times), statistics.median(our_times), out


def reference_rows(qkv: Qkv, rows: torch.Tensor, causal: bool) -> torch.Tensor:
    """Exact attention in float64 for the query ``rows`` (sorted positions), chunked over rows."""
    import torch

    q = qkv.q.double()
    k = qkv.k.double()
    v = qkv.v.double()
    scale = 1.0 / math.sqrt(q.shape[-1])
    positions = torch.arange(k.shape[-2], device=k.device)
    parts = []
    for start in range(0, rows.numel(), REFERENCE_CHUNK):
        chunk = rows[start : start + REFERENCE_CHUNK]
        logits = torch.matmul(q[:, :, chunk], k.transpose(-2, -1)) * scale
        if causal:
            logits = logits.masked_fill(positions[None, :] > chunk[:, None], -math.inf)
        parts.append(torch.matmul(torch.softmax(logits, dim=-1), v))
    return torch.cat(parts, dim=2)


def relative_error(out: torch.Tensor, reference: torch.Tensor, rows: torch.Tensor) -> float:
    """||out[rows] - reference||_F / ||reference||_F over all heads, in float64."""
    import torch

    difference = out[:, :, rows].double() - reference
    return float(torch.linalg.vector_norm(difference) / torch.linalg.vector_norm(reference))


def sampled_rows(n: int, seed: int, device: str) -> torch.Tensor:
    import torch

    if n <= REFERENCE_ROWS:
        return torch.arange(n, device=device)
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator)[:REFERENCE_ROWS].sort().values.to(device)


@dataclass(frozen=True)
class AttentionData:
    corpus: BeirDataset
    inputs: Inputs


@dataclass(frozen=True)
class AttentionTask:
    """One shape as a task of the kernels suite; model: an ``AttentionModel``."""

    shape: Shape
    split: str = "test"
    main_metric: str = "speedup"
    version: int = 1
    seed: int = 0
    card: DatasetCard | None = None

    @property
    def name(self) -> str:
        return f"kernels/{self.shape.dataset}"

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(measure(name) for name in ATTENTION_METRICS)

    def settings(self) -> dict[str, JSONValue]:
        return {
            "batch": 1,
            "heads": self.shape.heads,
            "head_dim": self.shape.head_dim,
            "n": self.shape.n,
            "causal": self.shape.causal,
            "dtype": self.shape.dtype,
            "device": "cuda" if self.shape.gpu else "cpu",
            "peer": "torch.nn.functional.scaled_dot_product_attention",
            "repeats": self.shape.repeats,
            "timing": "median of alternated calls after one warm-up",
            "reference": "float64 exact attention",
            "reference_rows": min(self.shape.n, REFERENCE_ROWS),
            "rel_error": f"SciFact through {MINILM_ID} layer {REAL_LAYER} Q/K/V, [1, 12, n, 32]",
            "rel_error_random": "the timing inputs",
        }

    def generator(self, corpus_fingerprint: str) -> dict[str, JSONValue]:
        return {
            "random": {
                "distribution": "standard normal, float32 on the CPU, then cast",
                "shape": [1, self.shape.heads, self.shape.n, self.shape.head_dim],
                "tensors": "q, k, v in that order",
            },
            "real": {
                "corpus": SCIFACT.id,
                "corpus_fingerprint": corpus_fingerprint,
                "model": MINILM_ID,
                "revision": MINILM_REVISION,
                "layer": REAL_LAYER,
                "document_tokens": DOCUMENT_TOKENS,
            },
        }

    def load(self, data_root: Path) -> AttentionData:
        corpus = load_beir(SCIFACT, data_root, "test")
        generator = self.generator(corpus.inputs.fingerprint)
        inputs = Inputs(
            id=self.name,
            generator=generator,
            seed=self.seed,
            fingerprint=generated_fingerprint(generator, self.seed),
            counts={"tokens": self.shape.n, "heads": self.shape.heads},
            verified=False,
        )
        return AttentionData(corpus, inputs)

    def evaluate(self, model: AttentionModel, data: AttentionData, timer: Timer) -> Scores:
        import torch

        from harness.kernels.attention import AttentionKernel, ExactAttention, peak_rss_growth_mib
        from harness.suites.kernels.sequences import minilm_qkv, random_qkv

        shape, device = self.shape, model.device
        kernel: AttentionKernel = model.kernel
        exact = ExactAttention()
        with timer("prepare"):
            inputs = random_qkv(shape.heads, shape.n, shape.head_dim, shape.torch_dtype, device, self.seed)
            real = minilm_qkv(model.host(None), data.corpus.corpus, shape.n, shape.torch_dtype, device)
        with torch.inference_mode():
            with timer("time"):
                warm = min(shape.n, 1024)
                exact(inputs.q[:, :, :warm], inputs.k[:, :, :warm], inputs.v[:, :, :warm], shape.causal)
                seconds_exact, seconds, out = paired_medians(
                    lambda: exact(inputs.q, inputs.k, inputs.v, shape.causal),
                    lambda: kernel(inputs.q, inputs.k, inputs.v, shape.causal),
                    shape.repeats,
                    device,
                )
            with timer("memory"):
                peak = peak_rss_growth_mib(lambda: kernel(inputs.q, inputs.k, inputs.v, shape.causal), device)
                peak_exact = peak_rss_growth_mib(
                    lambda: exact(inputs.q, inputs.k, inputs.v, shape.causal), device
                )
            with timer("accuracy"):
                rows = sampled_rows(shape.n, self.seed, device)
                error_random = relative_error(out, reference_rows(inputs, rows, shape.causal), rows)
                out_real = kernel(real.q, real.k, real.v, shape.causal)
                error_real = relative_error(out_real, reference_rows(real, rows, shape.causal), rows)
        metrics = {
            "speedup": seconds_exact / seconds,
            "rel_error": error_real,
            "rel_error_random": error_random,
            "seconds": seconds,
            "seconds_exact": seconds_exact,
        }
        if peak is not None and peak_exact is not None:
            metrics |= {"peak_mib": peak, "peak_mib_exact": peak_exact}
        return Scores(metrics=metrics)

    def check(self, result: TaskResult, data: AttentionData | None) -> bool:
        """The speed-up is the ratio of the two medians; nothing else can be recomputed from a file.

        Timings and errors come from running the kernel, which only ``harness verify`` does.
        """
        if result.per_item is not None or result.predictions is not None:
            raise FieldError("per_item", f"{self.name} keeps aggregates only")
        for name in ("speedup", "rel_error", "rel_error_random", "seconds", "seconds_exact"):
            if name not in result.metrics:
                raise FieldError(f"metrics.{name}", "missing")
        if result.metrics["seconds"] <= 0:
            raise FieldError("metrics.seconds", "a measured call takes some time")
        ratio = result.metrics["seconds_exact"] / result.metrics["seconds"]
        check_recomputed(result, "speedup", ratio, "seconds_exact / seconds")
        if data is not None and result.inputs.fingerprint != data.inputs.fingerprint:
            raise FieldError("inputs.fingerprint", f"is not the fingerprint of {self.name}'s inputs here")
        return False
