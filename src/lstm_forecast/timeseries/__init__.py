"""Feature, target and window code shared by training, validation and torch-free inference.

Nothing here imports torch: the inference path runs where only onnxruntime is installed.
"""
