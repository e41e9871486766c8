"""The page at `/` in Debian's Chromium (headless, through Playwright, as tests/test_browser.py)."""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT_ROOT, kedro_env
from tests.test_browser import chromium  # noqa: F401 - the shared headless-Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "serving-page.png"
CHART_TIMEOUT_MS = 30_000


def test_page_draws_closes_and_the_fan_with_a_model_selector(
    chromium,  # noqa: F811
    served_project,
    start_server,
):
    server = start_server(served_project, kedro_env())
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    try:
        page.goto(server.url + "/", wait_until="load")
        page.wait_for_function(
            "() => document.querySelector('#chart')?.data?.length >= 4", timeout=CHART_TIMEOUT_MS
        )
        names = page.evaluate("() => document.querySelector('#chart').data.map((t) => t.name)")
        assert names[0] == "close" and "median" in names and "90% band" in names
        closes = page.evaluate("() => document.querySelector('#chart').data[0].y.length")
        assert closes == 72
        assert page.locator("#model option").all_text_contents() == ["lstm", "ridge"]
        assert page.locator("#variant option").all_text_contents() == ["fp32", "opt", "int8"]
        assert "CRPS skill vs garch" in page.locator("#headline").inner_text()
        assert "sha256" in page.locator("#identity").inner_text()

        page.select_option("#model", "ridge")
        page.wait_for_function(
            "() => document.querySelector('#identity').textContent.startsWith('ridge')",
            timeout=CHART_TIMEOUT_MS,
        )
        page.select_option("#model", "lstm")
        page.wait_for_function(
            "() => document.querySelector('#identity').textContent.startsWith('lstm')",
            timeout=CHART_TIMEOUT_MS,
        )
        page.wait_for_timeout(500)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert page.locator("#status").inner_text() == ""
        assert problems == [], problems
        assert SCREENSHOT.stat().st_size > 20_000
    finally:
        page.close()


def test_docs_page_lists_every_route_offline(chromium, served_project, start_server):  # noqa: F811
    server = start_server(served_project, kedro_env())
    page = chromium.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    try:
        page.goto(server.url + "/docs", wait_until="load")
        page.wait_for_selector("h2:has-text('POST /v1/forecast/batch')", timeout=CHART_TIMEOUT_MS)
        text = page.locator("main").inner_text()
        for route in (
            "POST /v1/forecast",
            "GET /v1/forecast/latest",
            "GET /v1/models",
            "GET /readyz",
        ):
            assert route in text
        assert problems == [], problems
    finally:
        page.close()
