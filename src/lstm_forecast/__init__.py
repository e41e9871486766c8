"""lstm-forecast: hourly candles to a validated ONNX forecaster."""

__version__ = "0.1.0"
