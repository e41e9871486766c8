"""Project settings. See https://docs.kedro.org/en/stable/kedro_project_setup/settings.html."""

from kedro.config import OmegaConfigLoader

from lstm_forecast.datasets.hooks import DurabilityHooks

# Atomic writes for every dataset, cleanup after killed runs, the LSTM_FORECAST_FAULT aid.
HOOKS = (DurabilityHooks(),)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # A small environment (conf/smoke) overrides single keys, not whole stage blocks.
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
}
