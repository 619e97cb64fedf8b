"""Reference two-layer network in the "deep learning from scratch" convention.

Imports NumPy, the standard library and this folder's ``layers`` module only (relative
import), so that the folder can be loaded on its own as a "submission".
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np

from .layers import Affine, Relu, SoftmaxWithLoss

__all__ = ["TwoLayerNet"]


def _numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference gradient of the scalar f() with respect to x, perturbed in place.

    Every element of x is restored to its original value afterwards.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + h
        f_plus = f()
        x[idx] = orig - h
        f_minus = f()
        x[idx] = orig
        grad[idx] = (f_plus - f_minus) / (2.0 * h)
    return grad


class TwoLayerNet:
    """Two-layer network: Affine1 - Relu1 - Affine2 - SoftmaxWithLoss.

    With input size D, hidden size H and C outputs:
    - self.params['W1']: (D, H) = weight_init_std * np.random.randn(D, H), drawn first
    - self.params['b1']: (H,) zeros
    - self.params['W2']: (H, C) = weight_init_std * np.random.randn(H, C), drawn second
    - self.params['b2']: (C,) zeros
    - self.layers: OrderedDict Affine1, Relu1, Affine2, built on the SAME arrays as
      self.params (an in-place update of a parameter reaches the layers)
    - self.lastLayer: SoftmaxWithLoss
    """

    def __init__(
        self, input_size: int, hidden_size: int, output_size: int, weight_init_std: float = 0.01
    ) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.params["W1"] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

        self.layers: OrderedDict[str, object] = OrderedDict()
        self.layers["Affine1"] = Affine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])
        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores (before softmax) for x of shape (N, D); returns shape (N, C)."""
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Mean cross-entropy loss; t is class indices (N,) or one-hot (N, C)."""
        return self.lastLayer.forward(self.predict(x), t)

    def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
        """Fraction of the N examples whose highest score is the labelled class."""
        y = np.argmax(self.predict(x), axis=1)
        labels = np.argmax(t, axis=1) if np.ndim(t) != 1 else np.asarray(t)
        return float(np.sum(y == labels) / x.shape[0])

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Central-difference gradients (h = 1e-4) of loss(x, t); dict W1 b1 W2 b2 (slow)."""

        def f() -> float:
            return self.loss(x, t)

        return {key: _numerical_gradient(f, self.params[key]) for key in ("W1", "b1", "W2", "b2")}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagated gradients of loss(x, t); dict W1 b1 W2 b2, shapes as in params."""
        self.loss(x, t)
        dout = self.lastLayer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        return {
            "W1": self.layers["Affine1"].dW,
            "b1": self.layers["Affine1"].db,
            "W2": self.layers["Affine2"].dW,
            "b2": self.layers["Affine2"].db,
        }
