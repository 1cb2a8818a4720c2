"""Attention kernel speed: HyperAttention and low-rank attention against torch's fused SDPA.

One group per shape (batch 1, 8 heads, d 64, float32, N(0, 1) inputs), the peer (``ExactAttention``)
first. HyperAttention runs at its defaults except ``min_seq_len=1024``, so it engages at every n (at
n = 16384 non-causal that is the defaults' computation: ``min_seq_len`` only decides whether the
kernel engages and where the causal recursion stops). The acceptance goal is HyperAttention at
n = 16384 non-causal, at least 3x faster than SDPA; the other ratios are reported. Each benchmark also
records the peak memory growth of one call and, at n <= 4096, the mean relative error against the
float64 reference (on i.i.d. Gaussian inputs attention is near uniform, so the error of any sampling
method is large there).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import torch
from ratios import median, record_ratio

from harness.kernels.attention import (
    AttentionKernel,
    ExactAttention,
    peak_rss_growth_mib,
    reference_attention,
    relative_error,
)
from harness.kernels.hyper import HyperAttention
from harness.kernels.lowrank import LowRankAttention

HEADS, DIM = 8, 64
KERNELS: dict[str, AttentionKernel] = {
    "exact": ExactAttention(),
    "hyper": HyperAttention(min_seq_len=1024),
    "lowrank": LowRankAttention(),
}
CASES = [
    (name, n, causal) for causal in (False, True) for n in (1024, 4096, 16384) for name in KERNELS
]  # the peer first in each group
MEDIANS: dict[str, float | None] = {}


@cache
def inputs(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(n)
    q, k, v = (torch.randn(1, HEADS, n, DIM, generator=generator) for _ in range(3))
    return q, k, v


def group(n: int, causal: bool) -> str:
    return f"attention-{'causal' if causal else 'full'}-n{n}-h{HEADS}-d{DIM}-fp32"


@pytest.mark.parametrize(("name", "n", "causal"), CASES, ids=[f"{c[0]}-{group(c[1], c[2])}" for c in CASES])
def test_attention_kernel(benchmark: Any, name: str, n: int, causal: bool) -> None:
    shape = group(n, causal)
    benchmark.group = shape
    kernel = KERNELS[name]
    q, k, v = inputs(n)
    # the memory probe is one call, so it doubles as the warm-up round
    benchmark.extra_info["peak_rss_growth_mib"] = peak_rss_growth_mib(lambda: kernel(q, k, v, causal))
    out = benchmark.pedantic(lambda: kernel(q, k, v, causal), rounds=2 if n >= 16384 else 3)
    assert out.shape == (1, HEADS, n, DIM) and out.dtype == torch.float32
    if n <= 4096:
        error = relative_error(out, reference_attention(q, k, v, causal)).mean().item()
        benchmark.extra_info["relative_error_mean"] = error
    if name == "exact":
        MEDIANS[shape] = median(benchmark)
        return
    goal = ">= 3 (acceptance)" if name == "hyper" and n == 16384 and not causal else "reported"
    record_ratio(benchmark, f"{name} vs SDPA, {shape} (speed-up)", MEDIANS.get(shape), median(benchmark),
                 goal, higher=True)  # fmt: skip
