"""``params:training``: ``seed``, ``quantiles`` and one block per registered model kind.

The model is defined beside the registry (``models.training_params``), because the
backtest's ``backtest.training`` block and the torchrun launcher validate the same shape;
this stage takes it from there like every other user of it.
"""

from lstm_forecast.models.training_params import TrainingParams

__all__ = ["TrainingParams"]
