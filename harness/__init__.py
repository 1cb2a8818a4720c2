"""repbench harness: reproducible evaluation of text representation models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("repbench-harness")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
