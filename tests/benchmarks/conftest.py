"""Speed as ratios against the peer doing the same work in the same session (DESIGN §8).

Each pair of benchmarks shares a ``group``; the peer runs first, ours second, and the ratio of the
medians is stored in ``benchmark.extra_info`` and printed at the end of the session (and written to
``.benchmarks/ratios.json``). Ratios are reported, not asserted: a timing assertion on a shared
2-core machine would be a flaky timed unit test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ratios import RATIOS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RATIOS:
        return
    terminalreporter.section("ratios against the peer (same session)")
    for name, row in RATIOS.items():
        terminalreporter.write_line(
            f"{name}: {row['ratio']:.3f}x  (goal {row['goal']}; "
            f"peer {row['peer_s']:.3f} s, ours {row['ours_s']:.3f} s)"
        )
    out = Path(".benchmarks")
    out.mkdir(exist_ok=True)
    (out / "ratios.json").write_text(json.dumps(RATIOS, indent=1))
