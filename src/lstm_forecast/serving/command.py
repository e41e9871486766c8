"""``kedro serve``: uvicorn over the published forecasters of the project in the current folder."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

DEFAULT_HOST = "127.0.0.1"  # loopback: exposing the service is a deliberate --host 0.0.0.0
GRACEFUL_SHUTDOWN_S = 30  # SIGTERM: stop accepting, let in-flight requests finish this long


@click.command(name="serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="uvicorn worker processes; each loads the published files itself.",
)
@click.option(
    "--project-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The Kedro project whose data/ is served.",
)
def serve(host: str, port: int, workers: int, project_dir: Path) -> None:
    """Serve forecasts over HTTP from data/06_models (docs at /docs, page at /)."""
    import uvicorn  # noqa: PLC0415 - `kedro run` never pays for the server's imports

    # Workers import the app by name and build their own settings from the environment.
    os.environ["LSTM_FORECAST_SERVE_PROJECT_DIR"] = str(project_dir.resolve())
    # Under `kedro`, Kedro's logging config (rich handler, root at WARNING) is in place;
    # uvicorn's start, drain and stop lines and the access log join it at INFO.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("uvicorn", "lstm_forecast.serving"):
        logging.getLogger(name).setLevel(logging.INFO)
    # One plain line per request: rich rendering would cost more than the forecast itself.
    access = logging.getLogger("lstm_forecast.serving.access")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
    access.addHandler(handler)
    access.propagate = False
    uvicorn.run(
        "lstm_forecast.serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app logs each request with its latency, never its body
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        log_config=None,
    )
