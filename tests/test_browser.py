"""kedro-viz in a real browser: the flowchart of the whole pipeline renders and is readable.

Drives the real `kedro viz run` on a copy of the smoke project and Debian's Chromium through
Playwright (never a downloaded browser). The screenshot is kept in `test-artifacts/`.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import KEDRO, PROJECT_ROOT, kedro_env

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "kedro-viz.png"
# kedro-viz asks PyPI for a newer version at start and on /api/version, waiting up to 30 s
# when packets are dropped; a proxy on a closed local port makes that check fail at once.
# The server itself is reached directly even where CI sets a proxy.
OFFLINE_VERSION_CHECK = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# One task node per stage; the namespaced ones appear once modular pipelines are expanded.
STAGE_NODES = (
    "clean_candles",
    "build_features",
    "split_chronologically",
    "fit_scaler_on_train",
    "make_windows",
    "train",
    "export_onnx",
    "export_forecaster",
    "validate_onnx",
    "publish_validated",
    "forecast_test_split",
)
READY_TIMEOUT_S = 90
FLOWCHART_TIMEOUT_MS = 60_000


def _free_port() -> int:
    # kedro-viz refuses ports above 49151, where the OS hands out ephemeral ones.
    for port in random.sample(range(20_000, 49_000), 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.fail("no free TCP port between 20000 and 49000 on 127.0.0.1")


def _wait_until_up(url: str, server: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"`kedro viz run` exited {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with _DIRECT.open(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(
        f"kedro-viz did not answer {url} within {READY_TIMEOUT_S} s:\n{log.read_text()[-4000:]}"
    )


def _stop(server: subprocess.Popen[str]) -> None:
    # `kedro viz run` serves from a spawned child: signal the whole session it leads.
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # any grandchild that outlived its parent


@pytest.fixture(scope="module")
def chromium():
    """A headless Debian Chromium driven by Playwright, or a skip saying why there is none."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package `chromium`; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except sync_api.Error as error:
            pytest.skip(f"Playwright cannot launch {CHROMIUM}: {error}")
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def viz_url(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory):
    """The URL of `kedro viz run` serving a private copy of the smoke project."""
    project = tmp_path_factory.mktemp("viz-browser") / "project"
    shutil.copytree(smoke_project, project)
    port = _free_port()
    log = project / "kedro-viz.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [KEDRO, "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)],
            cwd=project,
            env={**kedro_env(), **OFFLINE_VERSION_CHECK},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/api/main", server, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)


def test_flowchart_shows_every_stage(chromium, viz_url: str) -> None:
    # A tall page suits the vertical flowchart: zoom-to-fit then keeps the labels legible.
    page = chromium.new_page(viewport={"width": 1600, "height": 2200})
    # The feature tour would cover part of the chart; a user dismisses it once, so do we.
    page.add_init_script(
        "window.localStorage.setItem('KedroViz', JSON.stringify({showFeatureHints: false}));"
    )
    try:
        # Expanded modular pipelines show the lstm/ridge nodes instead of two closed boxes.
        page.goto(f"{viz_url}/?expandAllPipelines=true", wait_until="domcontentloaded")
        labels = page.locator(".pipeline-flowchart__nodes .pipeline-node__text")
        labels.first.wait_for(state="visible", timeout=FLOWCHART_TIMEOUT_MS)
        page.wait_for_function(
            """(names) => {
                const shown = new Set(Array.from(
                    document.querySelectorAll('.pipeline-flowchart__nodes .pipeline-node__text'),
                    (label) => label.textContent.trim()));
                return names.every((name) => shown.has(name));
            }""",
            arg=list(STAGE_NODES),
            timeout=FLOWCHART_TIMEOUT_MS,
        )
        dismiss = page.get_by_role("button", name="Dismiss")
        if dismiss.count():
            # Offline, kedro-viz announces "Kedro-Viz None is here!" (a failed PyPI check).
            dismiss.first.click()
        page.wait_for_timeout(1500)  # the zoom-to-fit transition settles before the screenshot
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        shown = {text.strip() for text in labels.all_text_contents()}
        missing = [name for name in STAGE_NODES if name not in shown]
        assert not missing, f"not in the flowchart: {missing}; shown: {sorted(shown)}"
        for name in ("clean_candles", "export_forecaster", "validate_onnx"):
            label = labels.filter(has_text=name).first
            assert label.is_visible(), f"{name} is in the DOM but not visible"
        assert SCREENSHOT.stat().st_size > 20_000, "the screenshot is suspiciously small"
    finally:
        page.close()
