"""Reference two-layer network in the cs231n convention.

Imports NumPy and this folder's ``layers`` module only (relative import), so that the
folder can be loaded on its own as a "submission".
"""

from __future__ import annotations

import numpy as np

from .layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss

__all__ = ["TwoLayerNet"]


class TwoLayerNet:
    """Two-layer fully connected network: affine - relu - affine - softmax.

    With input dimension D, hidden dimension H and C classes, on a minibatch of N examples.

    Parameters are stored in ``self.params``:
    - W1: first layer weights, shape (D, H), drawn as weight_scale * np.random.randn(D, H)
    - b1: first layer biases, shape (H,), zeros
    - W2: second layer weights, shape (H, C), drawn as weight_scale * np.random.randn(H, C)
    - b2: second layer biases, shape (C,), zeros
    W1 is drawn before W2, both from NumPy's global generator.
    """

    def __init__(
        self,
        input_dim: int = 3 * 32 * 32,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
    ) -> None:
        """
        Inputs:
        - input_dim: D, the size of one (flattened) input
        - hidden_dim: H, the size of the hidden layer
        - num_classes: C, the number of classes
        - weight_scale: standard deviation of the random weight initialisation
        - reg: L2 regularisation strength
        """
        self.reg = reg
        self.params: dict[str, np.ndarray] = {}
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Compute class scores, or the loss and its gradients, for a minibatch.

        Inputs:
        - X: input data, shape (N, d_1, ..., d_k) with d_1 * ... * d_k = D
        - y: labels, shape (N,), integers with 0 <= y[i] < C; or None

        Returns:
        If y is None, the class scores, shape (N, C).
        Otherwise a tuple of:
        - loss: softmax loss averaged over the batch plus
          0.5 * reg * (sum(W1**2) + sum(W2**2)) (a float)
        - grads: dict with the same keys as self.params; grads[k] has the shape of
          self.params[k] and is the gradient of the loss (including the regularisation
          term, reg * W for the weights) with respect to it
        """
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]

        a1, cache_a1 = affine_forward(X, W1, b1)
        h1, cache_r1 = relu_forward(a1)
        scores, cache_a2 = affine_forward(h1, W2, b2)
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        reg_loss = 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        loss = float(data_loss + reg_loss)

        dh1, dW2, db2 = affine_backward(dscores, cache_a2)
        da1 = relu_backward(dh1, cache_r1)
        _, dW1, db1 = affine_backward(da1, cache_a1)
        grads = {
            "W1": dW1 + self.reg * W1,
            "b1": db1,
            "W2": dW2 + self.reg * W2,
            "b2": db2,
        }
        return loss, grads
