"""The service's settings: defaults here, each overridable by an ``LSTM_FORECAST_SERVE_*`` variable.

The service is not a Kedro run, so its settings do not come from ``conf/``; every machine
behind a load balancer gets the same ones from its environment.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr

from lstm_forecast.params import StrictParams

ENV_PREFIX = "LSTM_FORECAST_SERVE_"
API_KEY_ENV = "LSTM_FORECAST_API_KEY"


class ServingSettings(StrictParams):
    """Where the published files are, the limits on requests, and who may call."""

    project_dir: Path = Path(".")  # the Kedro project whose data/ is served
    models_dir: Path = Path("data/06_models")  # published forecasters (relative to project_dir)
    reporting_dir: Path = Path("data/08_reporting")  # forecast_metrics.json, variant reports
    candles_path: Path = Path("data/02_intermediate/candles.parquet")  # for /forecast/latest
    max_bars: int = Field(2000, ge=2)  # candles accepted in one window
    max_batch: int = Field(256, ge=1)  # windows accepted in one batch request
    max_body_bytes: int = Field(8_000_000, ge=1024)  # request bodies above this get 413
    poll_seconds: float = Field(2.0, ge=0)  # how often data/06_models is checked; 0 = never
    cors_origins: tuple[str, ...] = ()  # CORS is off unless origins are listed
    intra_op_num_threads: int = Field(1, ge=0)  # onnxruntime threads per session (0 = its choice)
    model_uris: tuple[str, ...] = ()  # models:/<name>/<version>: served instead of models_dir
    mlflow_tracking_uri: str | None = None  # the registry's store; None: MLflow's default
    api_key: SecretStr | None = None  # from LSTM_FORECAST_API_KEY; None = /v1/* is open

    def path(self, relative: Path) -> Path:
        """A configured path, resolved against ``project_dir``."""
        return relative if relative.is_absolute() else self.project_dir / relative

    @classmethod
    def from_env(cls, **overrides: object) -> ServingSettings:
        """Defaults, then ``LSTM_FORECAST_SERVE_<FIELD>`` variables, then ``overrides``."""
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is not None and name != "api_key":
                values[name] = (
                    tuple(filter(None, raw.split(","))) if name == "cors_origins" else raw
                )
        key = os.environ.get(API_KEY_ENV, "")
        if key:
            values["api_key"] = key
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
