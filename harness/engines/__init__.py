"""Where a model's work runs: ``ray_data`` spreads a corpus encode and its exact search over a Ray cluster.

The default engine is the process itself (``runner``); an engine wraps a model so that tasks see
the same protocols (``Retriever``) and score the same way.
"""
