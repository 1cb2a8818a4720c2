"""Hypothesis profiles for the fuzz tests: ``ci`` (the default) and ``stress``.

``ci`` runs 100 examples per property (about 300 in all), derandomized so that CI is repeatable.
``stress`` runs 10,000 per property with fresh randomness each time; select it with
``HARNESS_FUZZ_PROFILE=stress`` and add ``--hypothesis-show-statistics`` for the counts.
Neither writes an example database (no ``.hypothesis/`` folder in the checkout): a failure prints
the falsifying example and ``@reproduce_failure`` blob to rerun it.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

_COMMON: dict[str, Any] = {
    "deadline": None,  # file writes and fsync make per-example times noisy
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=100, derandomize=True, **_COMMON)
settings.register_profile("stress", max_examples=10_000, **_COMMON)
settings.load_profile(os.environ.get("HARNESS_FUZZ_PROFILE", "ci"))
