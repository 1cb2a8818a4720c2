"""The board page for ``streamlit run leaderboard/app.py -- --db URL`` from a source checkout.

``harness board`` runs the same page from inside the installed package (``harness/board/page.py``).
"""

from harness.board.app import main

main()
