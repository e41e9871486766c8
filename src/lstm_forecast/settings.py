"""Project settings. See https://docs.kedro.org/en/stable/kedro_project_setup/settings.html."""

import os

from kedro.config import OmegaConfigLoader

from lstm_forecast.datasets.durability_hooks import DurabilityHooks
from lstm_forecast.integrations.run_lock import RunLockHooks
from lstm_forecast.integrations.tracking_hooks import TrackingHooks

# MLflow's usage telemetry honours MLFLOW_DISABLE_TELEMETRY or DO_NOT_TRACK=true, not the
# DO_NOT_TRACK=1 the Makefile exports. Set before any MLflow import (MLflow is imported
# only by tracked runs and `kedro mlflow` commands: integrations/lazy_kedro_mlflow.py).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Its progress bars for local artefact copies would interleave with the run's log.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# Starting a run, MLflow looks for a Databricks notebook's dbutils to resume Serverless GPU
# Compute jobs, importing IPython (0.3-0.5 s) to find none; there is no Databricks here.
os.environ.setdefault("MLFLOW_ENABLE_SGC_RUN_RESUMPTION_FOR_DATABRICKS_JOBS", "false")

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # A small environment (conf/smoke) overrides single keys, not whole stage blocks.
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
}

# RunLockHooks: one writing run per data folder; it wraps before_pipeline_run, so it takes
# the lock before DurabilityHooks removes a killed run's leftovers (integrations/run_lock.py).
# DurabilityHooks: atomic writes for every dataset, cleanup after killed runs, the
# LSTM_FORECAST_FAULT testing aid. TrackingHooks: experiment tracking (conf/base/mlflow.yml,
# params:tracking); kedro-mlflow's own hook would open the MLflow store in every Kedro
# session (kedro-viz, notebooks, runs with tracking off), so it drives it for tracked runs;
# TrackingHooks takes that hook's entry-point name, so Kedro does not even import it.
HOOKS = (RunLockHooks(), DurabilityHooks(), TrackingHooks())
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)
