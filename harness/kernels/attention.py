"""Exact attention, its references, and the log-sum-exp pieces the approximate kernels are built from.

Every kernel of the suite takes ``q, k, v`` of shape ``[batch, heads, n, d]`` and a ``causal`` flag and
returns ``[batch, heads, n_q, d_v]`` in the dtype and on the device of ``q``; the scale is ``1/sqrt(d)``
throughout, as in Vaswani et al. 2017, §3.2.1. Causal masking is aligned at the top left, as in torch's
``scaled_dot_product_attention(is_causal=True)``: query ``i`` sees keys ``j <= i``.

The approximate kernels (``hyper.py``, ``lowrank.py``) compute attention over parts of the key set and
combine the parts exactly by their log-sum-exp (Milakov & Gimelshein 2018, "Online normalizer
calculation for softmax"; the merge of FlashAttention, Dao et al. 2022, §3.1): a part over keys ``S``
has ``lse = log sum_{j in S} exp(s_j)`` and ``out = sum_{j in S} softmax_S(s)_j v_j``, and two disjoint
parts merge to ``lse = logaddexp(lse1, lse2)``, ``out = exp(lse1 - lse) out1 + exp(lse2 - lse) out2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F  # noqa: N812

SCORE_BUDGET = 1 << 20
"""Score elements one step of ``attention_with_lse`` holds on a CPU (4 MiB in float32): a step's
scores stay in the cache while they are masked, normalised and multiplied, and a long exact part
never holds its whole score matrix. On the 2-core CI machine kind (2 MiB of L2 per core) the score
matmul of a ``[8, 4096, 256]`` step took 26 ms, eight ``[1, 4096, 256]`` steps 8 ms (a fresh 32 MiB
tensor has its pages faulted in one by one; 4 MiB ones are reused by the allocator)."""

DEVICE_SCORE_BUDGET = 1 << 26
"""The same on an accelerator (256 MiB in float32), where each step's kernel launches cost more than
its memory traffic; not measured on this project's machines."""


class AttentionKernel(Protocol):
    """One attention algorithm with its settings: the interface the kernels suite measures."""

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor: ...

    def parameters(self) -> dict[str, int | float | str | bool]:
        """Every setting that changes the outputs, for the results file."""
        ...


@dataclass(frozen=True)
class ExactAttention:
    """torch's fused ``scaled_dot_product_attention``: the peer every approximation is measured against.

    It is what a user of torch gets for exact attention (a flash-style kernel that never materialises
    the score matrix on CPU and on CUDA), so a speed-up against it is a speed-up a user would see.
    """

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def parameters(self) -> dict[str, int | float | str | bool]:
        return {}


@dataclass(frozen=True)
class NaiveAttention:
    """``softmax(q k^T / sqrt(d) [+ causal mask]) v`` materialised in the input dtype.

    The baseline of the flash-attention rule: a fused kernel's rounding error against a float64
    reference should be no worse than that of the textbook computation in the same dtype (Dao et al.
    2022 report FlashAttention's output error within the standard implementation's).
    """

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
        if causal:
            scores = scores.masked_fill(~causal_mask(q.shape[-2], k.shape[-2], q.device), -math.inf)
        return torch.matmul(torch.softmax(scores, dim=-1), v)

    def parameters(self) -> dict[str, int | float | str | bool]:
        return {}


def causal_mask(n_query: int, n_key: int, device: torch.device) -> torch.Tensor:
    """``[n_query, n_key]`` booleans, True where key ``j <= i`` may be seen by query ``i`` (top left)."""
    rows = torch.arange(n_query, device=device)[:, None]
    return torch.arange(n_key, device=device)[None, :] <= rows


def reference_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, chunk: int = 1024
) -> torch.Tensor:
    """Exact attention in float64, ``chunk`` query rows at a time; returns float64.

    The rows are independent, so chunking changes nothing but memory: at n = 16384 the full score
    matrix would take 2 GiB per head in float64, one chunk of 1024 rows takes 128 MiB per head.
    """
    q64, k64, v64 = q.double(), k.double(), v.double()
    scale = 1.0 / math.sqrt(q.shape[-1])
    n_query, n_key = q.shape[-2], k.shape[-2]
    parts = []
    for start in range(0, n_query, chunk):
        stop = min(start + chunk, n_query)
        scores = torch.matmul(q64[..., start:stop, :], k64.transpose(-1, -2)) * scale
        if causal:
            rows = torch.arange(start, stop, device=q.device)[:, None]
            scores = scores.masked_fill(torch.arange(n_key, device=q.device)[None, :] > rows, -math.inf)
        parts.append(torch.matmul(torch.softmax(scores, dim=-1), v64))
    return torch.cat(parts, dim=-2)


def relative_error(out: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``||out - ref||_F / ||ref||_F`` over each ``[n, d]`` matrix in float64: one value per (batch, head).

    Per head rather than pooled so the suite can keep one value per item (kind "head") and report
    the spread, not only the mean.
    """
    ref = reference.double()
    ratio: torch.Tensor = torch.linalg.matrix_norm(out.double() - ref) / torch.linalg.matrix_norm(ref)
    return ratio


def attention_with_lse(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    scale: float,
    mask: torch.Tensor | None,
    *,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact attention over the given keys and its log-sum-exp per query row.

    Args:
        q: ``[..., n_q, d]``.
        k: ``[..., n_k, d]``.
        v: ``[..., n_k, d_v]``.
        scale: multiplies the scores ``q k^T``.
        mask: booleans broadcastable to ``[..., n_q, n_k]``, True where a key may be seen, or None.
        bias: float32 added to the scaled scores, broadcastable to ``[..., n_q, n_k]``, or None (a
            pooled key standing for several keys carries the log of their number).

    Returns:
        The output ``[..., n_q, d_v]`` in the dtype of ``v`` and the log-sum-exp ``[..., n_q]`` (float32,
        or float64 for float64 inputs)
        of the scaled (and biased) scores. A row that may see no key has output 0 and log-sum-exp
        ``-inf``, so it drops out of ``merge_by_lse`` instead of turning into NaN.

    The scores are made in the input dtype (bf16 on a GPU, with the matmul's fp32 accumulation) and
    the softmax in float32 (float64 stays float64), the split FlashAttention uses (Dao et al. 2022,
    §3.1). The leading axes
    are flattened and taken ``SCORE_BUDGET`` score elements at a time (whole rows; a row longer than
    the budget is one step); rows are independent, so the steps change nothing but memory traffic.
    """
    n_query, n_key, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    shapes = [x.shape[:-2] for x in (q, k, v, mask, bias) if x is not None and x.dim() > 2]
    leading = _broadcast(shapes)
    flat_mask, flat_bias = _flatten(mask, leading), _flatten(bias, leading)
    flat_q = (
        (q if scale == 1.0 else q * scale)
        .expand(*leading, n_query, q.shape[-1])
        .reshape(-1, n_query, q.shape[-1])
    )
    flat_k = k.expand(*leading, n_key, k.shape[-1]).reshape(-1, n_key, k.shape[-1])
    flat_v = v.expand(*leading, n_key, d_v).reshape(-1, n_key, d_v)
    items = flat_q.shape[0]
    out = torch.empty(items, n_query, d_v, dtype=v.dtype, device=v.device)
    lse = torch.empty(items, n_query, dtype=torch.promote_types(q.dtype, torch.float32), device=v.device)
    budget = SCORE_BUDGET if q.device.type == "cpu" else DEVICE_SCORE_BUDGET
    rows = min(n_query, max(1, budget // max(1, n_key)))
    step = max(1, budget // max(1, rows * n_key))
    for first in range(0, items, step):
        last = min(first + step, items)
        for top in range(0, n_query, rows):
            bottom = min(top + rows, n_query)
            lse[first:last, top:bottom] = _attention_step(
                flat_q[first:last, top:bottom],
                flat_k[first:last],
                flat_v[first:last],
                _part(flat_mask, first, last, top, bottom),
                _part(flat_bias, first, last, top, bottom),
                out[first:last, top:bottom],
            )
    return out.view(*leading, n_query, d_v), lse.view(*leading, n_query)


def _broadcast(shapes: list[torch.Size]) -> tuple[int, ...]:
    """The broadcast of ``shapes`` (numpy's rule: align at the right, a size 1 stretches)."""
    width = max((len(shape) for shape in shapes), default=0)
    padded = [(1,) * (width - len(shape)) + tuple(shape) for shape in shapes]
    result = []
    for sizes in zip(*padded, strict=True):
        wide = set(sizes) - {1}
        if len(wide) > 1:
            raise ValueError(f"leading shapes do not broadcast: {[tuple(s) for s in shapes]}")
        result.append(wide.pop() if wide else 1)
    return tuple(result)


def _flatten(extra: torch.Tensor | None, leading: tuple[int, ...]) -> torch.Tensor | None:
    """A mask or bias with leading axes as ``[items, rows, keys]``; a 1- or 2-D one stays as it is."""
    if extra is None or extra.dim() <= 2:
        return extra
    tail = extra.shape[-2:]
    return extra.expand(*leading, *tail).reshape(-1, *tail)


def _part(extra: torch.Tensor | None, first: int, last: int, top: int, bottom: int) -> torch.Tensor | None:
    """The slice of a flattened mask or bias for items ``first:last`` and query rows ``top:bottom``."""
    if extra is None:
        return None
    if extra.dim() == 3:
        extra = extra[first:last]
    if extra.dim() >= 2 and extra.shape[-2] != 1:
        extra = extra[..., top:bottom, :]
    return extra


def _attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    bias: torch.Tensor | None,
    out: torch.Tensor,
) -> torch.Tensor:
    """One step of ``attention_with_lse`` on ``[items, rows, d]`` (``q`` already scaled): writes ``out``.

    The log-sum-exp comes from the softmax itself: for the row maximum ``s*`` the softmax weight is
    ``p* = exp(s* - lse)``, so ``lse = s* - log p*`` with ``p* >= 1 / n_k`` (no underflow). That is
    torch's fused softmax and one reduction (the largest weight and where it is) instead of the five
    passes over the scores of a hand-made one.
    """
    scores = torch.bmm(q, k.transpose(1, 2)).to(torch.promote_types(q.dtype, torch.float32))
    if bias is not None:
        scores.add_(bias)
    if mask is not None:
        scores.masked_fill_(mask.logical_not(), -math.inf)
    probs = torch.softmax(scores, dim=-1)
    top, where = probs.max(dim=-1, keepdim=True)  # the largest weight sits at the largest score
    peak = scores.gather(-1, where).squeeze(-1)
    lse = peak - top.squeeze(-1).log()
    if out.is_contiguous():
        torch.bmm(probs.to(v.dtype), v, out=out)
    else:
        out.copy_(torch.bmm(probs.to(v.dtype), v))
    if mask is not None:  # a row with no key left: softmax gave NaN; make it output 0, lse -inf
        empty = peak == -math.inf
        out.masked_fill_(empty.unsqueeze(-1), 0.0)
        lse.masked_fill_(empty, -math.inf)
    return lse


def merge_by_lse(
    out1: torch.Tensor, lse1: torch.Tensor, out2: torch.Tensor, lse2: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Combine attention over two disjoint key sets into attention over their union, exactly.

    ``out`` is ``[..., n, d_v]``, ``lse`` ``[..., n]``. Each part is weighted by its share of the
    joint normaliser, ``exp(lse_i - lse)`` (Milakov & Gimelshein 2018); a part whose row has no keys
    (``lse = -inf``) gets weight 0, and a row empty in both stays 0 with ``lse = -inf``. The arithmetic
    is float32 (float64 for float64 inputs); the output keeps the dtype of ``out1``.
    """
    out = out1.to(torch.promote_types(lse1.dtype, out1.dtype), copy=True)
    lse = lse1.clone()
    merge_into(out, lse, out2, lse2)
    return out.to(out1.dtype), lse


def merge_into(out: torch.Tensor, lse: torch.Tensor, out2: torch.Tensor, lse2: torch.Tensor) -> None:
    """``merge_by_lse`` that overwrites ``out`` and ``lse`` (views allowed) instead of allocating.

    For the kernels' own accumulators: at n = 16384 a fresh output costs as much as the arithmetic
    (the pages of a new 32 MiB tensor are faulted in one by one). ``out`` must be float32 or float64.
    """
    total = torch.logaddexp(lse, lse2)
    safe = torch.where(torch.isfinite(total), total, torch.zeros_like(total))
    out.mul_(torch.exp(lse - safe).unsqueeze(-1))
    out.addcmul_(torch.exp(lse2 - safe).unsqueeze(-1), out2.to(out.dtype))
    lse.copy_(total)


def peak_rss_growth_mib(fn: Callable[[], object], device: torch.device | str = "cpu") -> float | None:
    """How far one call of ``fn`` raises the process's memory high-water mark, in MiB.

    On CUDA: the allocator's peak (``max_memory_allocated``) above what was allocated before the call.
    On CPU: the resident-set high-water mark (``VmHWM`` of ``/proc/self/status``) after resetting it
    to the current resident size by writing "5" to ``/proc/self/clear_refs`` (Linux
    ``Documentation/filesystems/proc.rst``). That is resident growth, a lower bound on what the call
    allocated when it reuses memory the allocator had already freed. None where ``/proc`` does not
    allow it.
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        before = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        fn()
        torch.cuda.synchronize(dev)
        return (torch.cuda.max_memory_allocated(dev) - before) / 2**20
    try:
        Path("/proc/self/clear_refs").write_text("5")
        high_before = _status_kib("VmHWM")
    except OSError:
        return None
    fn()
    high_after = _status_kib("VmHWM")
    if high_before is None or high_after is None:
        return None
    return max(0.0, (high_after - high_before) / 1024)  # the mark can settle a page lower after the reset


def _status_kib(field: str) -> int | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    return None
