"""Circuit identification in plain torch: toy models, their problems, ground truth, methods, the paper track.

No harness imports outside this package (the suite in ``harness/suites/circuit`` wraps it), and
nothing here imports torch at package import: ``PAPER_SUBJECTS`` is read by the suite's cards.
"""

PAPER_SUBJECTS: dict[str, tuple[int, int]] = {"gpt2-small": (12, 12), "attn-only-4l": (4, 8)}
"""The paper's subjects and their (layers, heads): GPT-2 small, and attn-only-4l (docstring)."""
