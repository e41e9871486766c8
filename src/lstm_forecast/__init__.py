"""lstm-forecast: hourly candles to a validated ONNX forecaster."""

from lstm_forecast.integrations.library_warnings import silence_library_warnings

__version__ = "0.1.0"

silence_library_warnings()
