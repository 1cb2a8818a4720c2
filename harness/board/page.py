"""The script ``harness board`` hands to ``streamlit run``: Streamlit re-executes it on every rerun."""

from harness.board.app import main

main()
