"""Kernels the kernels suite measures: attention (exact, HyperAttention, low-rank) and vector quantisation.

Plain torch and numpy, no harness imports: each module is one algorithm with its source cited, and
the suite (``harness/suites/kernels/``) measures them against their peers (torch's scaled-dot-product
attention, faiss ``IndexPQ``).
"""
