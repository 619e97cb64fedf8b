"""Reference implementation of the catalogue in the "deep learning from scratch" convention.

Self-contained: imports NumPy and the standard library only, and this folder's own modules
by relative import, so that the folder can also be loaded as a student submission.
"""

from .layers import (
    Affine,
    AddLayer,
    BatchNormalization,
    Convolution,
    Dropout,
    MulLayer,
    Pooling,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
    col2im,
    im2col,
)
from .two_layer_net import TwoLayerNet

__all__ = [
    "AddLayer",
    "Affine",
    "BatchNormalization",
    "Convolution",
    "Dropout",
    "MulLayer",
    "Pooling",
    "Relu",
    "Sigmoid",
    "SoftmaxWithLoss",
    "Tanh",
    "TwoLayerNet",
    "col2im",
    "im2col",
]
