"""ONNX files: the contract they carry, the forecaster graph, exporter clean-up, variants.

Torch appears only in ``forecaster_graph`` (the feature and price graphs are torch modules
exported once); the contract, sessions and variants need onnx and onnxruntime alone.
"""
