"""Low-rank attention along the sequence: keys and values projected to ``r`` rows (Linformer).

Wang, Li, Khabsa, Fang & Ma, "Linformer: Self-Attention with Linear Complexity", 2020.

Linformer (§4) projects the keys and values along the sequence, ``K' = E K`` and ``V' = E V`` with an
``r x n`` matrix ``E``, and attends to the ``r`` projected keys: ``softmax(q K'^T / sqrt(d)) V'``, so the
cost is ``O(n r)`` instead of ``O(n^2)``. In the paper ``E`` is learned; untrained, this kernel offers
two of the choices §4 discusses:

* ``"mean"``: row ``j`` of ``E`` averages the ``j``-th of ``r`` contiguous segments of the sequence
  (pooling, which §4 lists among the projection choices). A pooled key stands for its whole segment,
  so its score carries ``+ log(segment size)``: ``size * exp(q . mean(k))`` estimates the segment's
  ``sum exp(q . k)`` (it is the Jensen lower bound, exact when the segment's keys are equal).
* ``"gaussian"``: ``E`` with entries ``N(0, 1/r)`` drawn from a ``torch.Generator`` seeded with
  ``seed`` (the Johnson-Lindenstrauss projection of the paper's Theorem 2), no bias.

The segments: ``min(rank, n)`` of them, segment ``j`` covering positions
``floor(j n / r) .. floor((j + 1) n / r) - 1`` (sizes differ by at most one), so ``rank >= n`` makes
every segment one key and the kernel exact.

Causal attention: Linformer has no causal form (its ``E`` mixes the whole sequence). This kernel is
block-causal: each query attends exactly, with the causal mask, to the keys of its own segment up to
itself, and to the projected keys and values of the segments strictly before its own; the two parts
merge by log-sum-exp (``attention.merge_by_lse``). With ``"gaussian"`` the causal projection keeps
row ``j`` of ``E`` on segment ``j`` only, so no projected key reads a later position.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from harness.kernels.attention import ExactAttention, attention_with_lse, merge_by_lse

PROJECTIONS = ("mean", "gaussian")


@dataclass(frozen=True)
class LowRankAttention:
    """Linformer-style attention to ``rank`` keys and values projected along the sequence.

    Attributes:
        rank: the projected sequence length ``r``.
        projection: ``"mean"`` (segment averages with a log-size bias) or ``"gaussian"`` (``N(0, 1/r)``).
        min_seq_len: with fewer keys than this the kernel is ``ExactAttention``.
        seed: seeds the Gaussian projection.
    """

    rank: int = 256
    projection: str = "mean"
    min_seq_len: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"rank must be at least 1, not {self.rank}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, not {self.projection!r}")
        if self.min_seq_len < 0:
            raise ValueError(f"min_seq_len must not be negative, not {self.min_seq_len}")

    def parameters(self) -> dict[str, int | float | str | bool]:
        return dict(dataclasses.asdict(self))

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
        n_key = k.shape[-2]
        if n_key < self.min_seq_len:
            return ExactAttention()(q, k, v, causal)
        if causal and q.shape[-2] != n_key:
            raise ValueError("causal LowRankAttention needs as many queries as keys")
        segments = _Segments.of(n_key, min(self.rank, n_key), q.device)
        scale = 1.0 / math.sqrt(q.shape[-1])
        bias = segments.sizes.float().log() if self.projection == "mean" else None
        if not causal and self.projection == "gaussian":
            dense = self._dense_gaussian(segments.count, n_key, q.device).to(k.dtype)
            out, _ = attention_with_lse(q, torch.matmul(dense, k), torch.matmul(dense, v), scale, None)
            return out.to(q.dtype)
        weights = self._weights(segments, q.device)
        pooled_k, pooled_v = _pool(k, segments, weights), _pool(v, segments, weights)
        if not causal:
            out, _ = attention_with_lse(q, pooled_k, pooled_v, scale, None, bias=bias)
            return out.to(q.dtype)

        earlier = segments.of_position[:, None] > torch.arange(segments.count, device=q.device)
        out_pooled, lse_pooled = attention_with_lse(q, pooled_k, pooled_v, scale, earlier, bias=bias)
        slot = torch.arange(segments.longest, device=q.device)
        own = slot[None, :] <= slot[:, None]  # [query slot, key slot]
        if k.shape[-2] % segments.count:  # segments of two sizes: the shorter ones mask their last slot
            own = own & segments.valid[:, None, :]
        out_own, lse_own = attention_with_lse(
            _by_segment(q, segments), _by_segment(k, segments), _by_segment(v, segments), scale, own
        )
        out_own = _positions(out_own, segments)
        lse_own = _positions(lse_own.unsqueeze(-1), segments).squeeze(-1)
        out, _ = merge_by_lse(out_own, lse_own, out_pooled, lse_pooled)
        return out.to(q.dtype)

    def _weights(self, segments: _Segments, device: torch.device) -> torch.Tensor:
        """``[r, longest]`` weights of each segment's slots: the rows of ``E`` restricted to segments."""
        valid = segments.valid.float()
        if self.projection == "mean":
            return valid / segments.sizes[:, None].float()
        generator = torch.Generator(device=device)
        generator.manual_seed(self.seed)
        noise = torch.randn(valid.shape, generator=generator, device=device)
        return noise * valid / math.sqrt(segments.count)

    def _dense_gaussian(self, rank: int, n: int, device: torch.device) -> torch.Tensor:
        """The ``[r, n]`` matrix ``E`` with ``N(0, 1/r)`` entries (Linformer §4, Theorem 2)."""
        generator = torch.Generator(device=device)
        generator.manual_seed(self.seed)
        return torch.randn(rank, n, generator=generator, device=device) / math.sqrt(rank)


@dataclass(frozen=True)
class _Segments:
    """``count`` contiguous segments covering ``n`` positions, laid out as ``[count, longest]`` slots."""

    count: int
    longest: int
    sizes: torch.Tensor  # [count] positions per segment
    index: torch.Tensor  # [count, longest] position of each slot (clamped to n - 1 past a segment's end)
    valid: torch.Tensor  # [count, longest] whether the slot is a position of its segment
    of_position: torch.Tensor  # [n] segment of each position
    slot_of_position: torch.Tensor  # [n] flat slot (segment * longest + offset) of each position

    @staticmethod
    def of(n: int, count: int, device: torch.device) -> _Segments:
        starts = torch.arange(count + 1, device=device) * n // count
        sizes = starts[1:] - starts[:-1]
        longest = math.ceil(n / count)
        slot = torch.arange(longest, device=device)
        index = (starts[:-1, None] + slot[None, :]).clamp(max=n - 1)
        valid = slot[None, :] < sizes[:, None]
        of_position = torch.repeat_interleave(torch.arange(count, device=device), sizes, output_size=n)
        offset = torch.arange(n, device=device) - starts[of_position]
        slot_of_position = of_position * longest + offset
        return _Segments(count, longest, sizes, index, valid, of_position, slot_of_position)


def _by_segment(x: torch.Tensor, segments: _Segments) -> torch.Tensor:
    """``x`` ``[b, h, n, e]`` as ``[b, h, r, longest, e]`` slots (a padding slot repeats position n-1)."""
    batch, heads, _, e = x.shape
    taken = x.index_select(2, segments.index.reshape(-1))
    return taken.view(batch, heads, segments.count, segments.longest, e)


def _pool(x: torch.Tensor, segments: _Segments, weights: torch.Tensor) -> torch.Tensor:
    """``E x`` for an ``E`` nonzero on each row's segment only: ``[b, h, r, e]``."""
    slots = _by_segment(x, segments)
    return torch.matmul(weights.to(x.dtype).unsqueeze(-2), slots).squeeze(-2)


def _positions(x: torch.Tensor, segments: _Segments) -> torch.Tensor:
    """Slots ``[b, h, r, longest, e]`` back to positions ``[b, h, n, e]``, padding slots dropped."""
    batch, heads, _, _, e = x.shape
    return x.reshape(batch, heads, -1, e).index_select(2, segments.slot_of_position)
