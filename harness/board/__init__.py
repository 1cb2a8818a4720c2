"""The leaderboard: ``queries`` computes what it shows (pandas, no Streamlit), ``app`` renders it.

``PAGE`` is the script ``harness board`` runs with Streamlit; it ships inside the package, so the
board works from an installed wheel as well as from a source checkout.
"""

from pathlib import Path

PAGE = Path(__file__).resolve().parent / "page.py"
