"""Ratios of benchmark medians against the peer, collected across one pytest session."""

from __future__ import annotations

RATIOS: dict[str, dict[str, float | str]] = {}


def median(benchmark: object) -> float | None:
    stats = getattr(benchmark, "stats", None)
    return float(stats.stats.median) if stats is not None else None


def record_ratio(
    benchmark: object, name: str, peer: float | None, ours: float | None, goal: str, higher: bool
) -> None:
    """Store ``peer/ours`` (a speed-up, when ``higher``) or ``ours/peer`` (a slow-down) for the report."""
    if peer is None or ours is None:
        return  # --benchmark-disable: ran once as a plain test, nothing to compare
    ratio = peer / ours if higher else ours / peer
    RATIOS[name] = {"ratio": ratio, "goal": goal, "peer_s": peer, "ours_s": ours}
    benchmark.extra_info.update({"ratio": ratio, "goal": goal})  # type: ignore[attr-defined]
