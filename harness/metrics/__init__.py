"""Metrics: ``measures`` says what each one is; the other modules compute them as pure functions."""
