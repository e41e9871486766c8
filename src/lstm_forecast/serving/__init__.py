"""The forecasting HTTP service: published forecasters behind a FastAPI app, run by uvicorn.

Torch-free and free of Kedro's session machinery: it reads the files the pipeline published
(``data/06_models``, ``data/08_reporting``, ``data/02_intermediate/candles.parquet``) and
nothing else. ``kedro serve`` or ``make serve`` starts it; ``create_app`` builds the app.
"""

from .app import create_app
from .settings import ServingSettings

__all__ = ["ServingSettings", "create_app"]
