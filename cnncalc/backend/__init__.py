"""Optional NumPy execution backend: runs a real forward pass of a cnncalc network.

``kernels`` holds the pure-NumPy compute kernels (convolution, pooling, normalisation,
activations, resampling) with PyTorch semantics, plus the MAC instrumentation used to check
the analytic FLOP counts against what the matrix multiplications actually perform.
"""
