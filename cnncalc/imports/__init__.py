"""Bring models from other frameworks in: PyTorch, ONNX and Keras -> a cnncalc spec.

Every source is read into one `ImportedModel` (`model.py`), and one writer turns that into
spec text (`write.py`); the spec is then loaded by cnncalc itself, so what an import writes
is always what cnncalc analyses.
"""
