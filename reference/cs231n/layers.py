"""Reference layers in the cs231n convention (functional style).

Every layer is a pair of functions::

    out, cache = X_forward(inputs...)
    grads = X_backward(dout, cache)

``cache`` holds whatever the backward pass needs; its layout is private to this module.
All arrays are float64. No function mutates its arguments; the only state that changes is
the one the convention asks for (``bn_param['running_mean']`` / ``['running_var']`` and the
global NumPy generator when dropout draws a mask).

This module imports NumPy and the standard library only, so that this folder can also be
loaded on its own as a "submission" by the checker.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "softmax_loss",
    "svm_loss",
    "batchnorm_forward",
    "batchnorm_backward",
    "layernorm_forward",
    "layernorm_backward",
    "dropout_forward",
    "dropout_backward",
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
]


# --------------------------------------------------------------------------------------------
# Affine
# --------------------------------------------------------------------------------------------
def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Affine (fully connected) layer, forward pass.

    The input ``x`` has shape (N, d_1, ..., d_k); each example is flattened to a vector of
    dimension D = d_1 * ... * d_k before the product.

    Inputs:
    - x: input data, shape (N, d_1, ..., d_k)
    - w: weights, shape (D, M)
    - b: biases, shape (M,)

    Returns a tuple of:
    - out: x.reshape(N, D) @ w + b, shape (N, M)
    - cache: (x, w, b)
    """
    x2 = x.reshape(x.shape[0], -1)
    out = x2 @ w + b
    return out, (x, w, b)


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine layer, backward pass.

    Inputs:
    - dout: upstream derivative, shape (N, M)
    - cache: the cache returned by ``affine_forward``

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, d_1, ..., d_k) (the shape of x)
    - dw: gradient with respect to w, shape (D, M)
    - db: gradient with respect to b, shape (M,)
    """
    x, w, _ = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# --------------------------------------------------------------------------------------------
# Element-wise nonlinearities
# --------------------------------------------------------------------------------------------
def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rectified linear unit, forward pass.

    Inputs:
    - x: input of any shape

    Returns a tuple of:
    - out: max(0, x), same shape as x
    - cache: x
    """
    out = np.where(x > 0, x, 0.0)
    return out, x


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Rectified linear unit, backward pass.

    The derivative at x == 0 is taken to be 0.

    Inputs:
    - dout: upstream derivative, any shape
    - cache: the input x of the forward pass, same shape as dout

    Returns:
    - dx: dout where x > 0, else 0; same shape as x
    """
    x = cache
    return np.where(x > 0, dout, 0.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow: uses exp(-|x|), which is always in (0, 1]."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, forward pass.

    Inputs:
    - x: input of any shape

    Returns a tuple of:
    - out: 1 / (1 + exp(-x)), same shape as x (computed without overflow for large |x|)
    - cache: out
    """
    out = _sigmoid(x)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, backward pass: d sigma / dx = sigma * (1 - sigma).

    Inputs:
    - dout: upstream derivative, any shape
    - cache: the output of the forward pass, same shape as dout

    Returns:
    - dx: gradient with respect to x, same shape as dout
    """
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent, forward pass.

    Inputs:
    - x: input of any shape

    Returns a tuple of:
    - out: tanh(x), same shape as x
    - cache: out
    """
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, backward pass: d tanh / dx = 1 - tanh**2.

    Inputs:
    - dout: upstream derivative, any shape
    - cache: the output of the forward pass, same shape as dout

    Returns:
    - dx: gradient with respect to x, same shape as dout
    """
    t = cache
    return dout * (1.0 - t * t)


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------
def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax (cross-entropy) loss, averaged over the batch.

    loss = -(1/N) * sum_i log softmax(x_i)[y_i], computed with the log-sum-exp trick
    (each row is shifted by its maximum), so it is finite for logits of any size.

    Inputs:
    - x: scores, shape (N, C); x[i, j] is the score of class j for example i
    - y: labels, shape (N,), integers with 0 <= y[i] < C

    Returns a tuple of:
    - loss: scalar (float)
    - dx: gradient of the loss with respect to x, shape (N, C):
      (softmax(x) - onehot(y)) / N
    """
    n = x.shape[0]
    rows = np.arange(n)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / n
    dx = np.exp(log_probs)
    dx[rows, y] -= 1.0
    dx /= n
    return float(loss), dx


def svm_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Multiclass SVM (hinge) loss, averaged over the batch.

    loss = (1/N) * sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1)

    Inputs:
    - x: scores, shape (N, C)
    - y: labels, shape (N,), integers with 0 <= y[i] < C

    Returns a tuple of:
    - loss: scalar (float)
    - dx: gradient of the loss with respect to x, shape (N, C). The derivative of
      max(0, m) at m == 0 is taken to be 0.
    """
    n = x.shape[0]
    rows = np.arange(n)
    correct = x[rows, y][:, None]
    margins = np.maximum(0.0, x - correct + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / n
    active = (margins > 0).astype(np.float64)
    active[rows, y] = -active.sum(axis=1)
    dx = active / n
    return float(loss), dx


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------
def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict[str, Any]
) -> tuple[np.ndarray, tuple]:
    """Batch normalisation, forward pass.

    Train mode normalises each feature with the statistics of the batch (mean and biased
    variance) and updates the running statistics::

        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var  = momentum * running_var  + (1 - momentum) * batch_var

    Test mode normalises with the running statistics and leaves them unchanged.

    Inputs:
    - x: data, shape (N, D)
    - gamma: scale, shape (D,)
    - beta: shift, shape (D,)
    - bn_param: dict with keys
      - mode: 'train' or 'test' (required)
      - eps: constant for numeric stability (default 1e-5)
      - momentum: constant for the running statistics (default 0.9)
      - running_mean: shape (D,) (default zeros(D))
      - running_var: shape (D,) (default zeros(D))
      In train mode new arrays are stored back into bn_param['running_mean'] and
      bn_param['running_var'] (the old arrays are not modified in place).

    Returns a tuple of:
    - out: gamma * x_hat + beta, shape (N, D)
    - cache: values needed by ``batchnorm_backward``
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))

    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)  # biased: divides by N
        bn_param["running_mean"] = momentum * running_mean + (1.0 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1.0 - momentum) * var
    elif mode == "test":
        mean, var = running_mean, running_var
    else:
        raise ValueError(f"invalid batchnorm mode {mode!r} (expected 'train' or 'test')")

    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (mode, x_hat, gamma, inv_std)


def batchnorm_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalisation, backward pass.

    Train mode (mean and variance depend on x), with g = dout * gamma:
        dx = inv_std / N * (N * g - sum_n g - x_hat * sum_n(g * x_hat))
    Test mode (a fixed affine map of x):
        dx = dout * gamma * inv_std
    where inv_std = 1 / sqrt(var + eps) and the sums run over the batch axis.

    Inputs:
    - dout: upstream derivative, shape (N, D)
    - cache: the cache returned by ``batchnorm_forward``

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    mode, x_hat, gamma, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    if mode == "train":
        n = dout.shape[0]
        dx = (inv_std / n) * (
            n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0)
        )
    else:
        dx = g * inv_std
    return dx, dgamma, dbeta


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, ln_param: dict[str, Any]
) -> tuple[np.ndarray, tuple]:
    """Layer normalisation, forward pass.

    Each example is normalised over its D features (mean and biased variance of the row),
    then scaled and shifted per feature. There are no running statistics and train and test
    behave the same.

    Inputs:
    - x: data, shape (N, D)
    - gamma: scale, shape (D,)
    - beta: shift, shape (D,)
    - ln_param: dict with optional key eps (default 1e-5)

    Returns a tuple of:
    - out: gamma * x_hat + beta, shape (N, D)
    - cache: values needed by ``layernorm_backward``
    """
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std)


def layernorm_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer normalisation, backward pass.

    With g = dout * gamma and sums over the feature axis of each row:
        dx = inv_std / D * (D * g - sum_d g - x_hat * sum_d(g * x_hat))

    Inputs:
    - dout: upstream derivative, shape (N, D)
    - cache: the cache returned by ``layernorm_forward``

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    x_hat, gamma, inv_std = cache
    d = dout.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    dx = (inv_std / d) * (
        d * g
        - g.sum(axis=1, keepdims=True)
        - x_hat * (g * x_hat).sum(axis=1, keepdims=True)
    )
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------
def dropout_forward(x: np.ndarray, dropout_param: dict[str, Any]) -> tuple[np.ndarray, tuple]:
    """Inverted dropout, forward pass.

    Inputs:
    - x: input of any shape
    - dropout_param: dict with keys
      - p: probability of KEEPING each unit, 0 < p <= 1
      - mode: 'train' or 'test'
      - seed: optional; if present, ``np.random.seed(seed)`` is called first (in either
        mode), which makes the mask repeatable (used for gradient checking)

    In train mode the mask is drawn from the global generator as
    ``(np.random.rand(*x.shape) < p) / p`` and out = x * mask, so kept units are scaled by
    1/p and the expected output equals x. In test mode out = x (a copy) and nothing is drawn.

    Returns a tuple of:
    - out: same shape as x
    - cache: (mode, mask); mask has x's shape in train mode and is None in test mode
    """
    p = dropout_param["p"]
    mode = dropout_param["mode"]
    if not 0.0 < p <= 1.0:
        raise ValueError(f"dropout keep probability p must be in (0, 1], got {p!r}")
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == "test":
        mask = None
        out = x.copy()
    else:
        raise ValueError(f"invalid dropout mode {mode!r} (expected 'train' or 'test')")
    return out, (mode, mask)


def dropout_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Inverted dropout, backward pass.

    Inputs:
    - dout: upstream derivative, same shape as x
    - cache: (mode, mask) from ``dropout_forward``

    Returns:
    - dx: dout * mask in train mode, dout (a copy) in test mode; same shape as dout
    """
    mode, mask = cache
    if mode == "train":
        return dout * mask
    return dout.copy()


# --------------------------------------------------------------------------------------------
# Convolution and pooling (vectorised with sliding-window views)
# --------------------------------------------------------------------------------------------
def _windows(x: np.ndarray, hh: int, ww: int, stride: int) -> np.ndarray:
    """Read-only view of all (hh, ww) windows of x (N, C, H, W) taken every ``stride``.

    Returns shape (N, C, H', W', hh, ww) with H' = 1 + (H - hh) // stride (likewise W').
    """
    view = sliding_window_view(x, (hh, ww), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def conv_forward_naive(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, Any]
) -> tuple[np.ndarray, tuple]:
    """Convolutional layer (cross-correlation with zero padding), forward pass.

    out[n, f, i, j] = b[f] + sum_{c, k, l} w[f, c, k, l] * xp[n, c, i*stride + k, j*stride + l]
    where xp is x zero-padded by ``pad`` on each side of both spatial axes. (Despite the
    name, the computation is vectorised.)

    Inputs:
    - x: input data, shape (N, C, H, W)
    - w: filter weights, shape (F, C, HH, WW)
    - b: biases, shape (F,)
    - conv_param: dict with keys
      - stride: step between neighbouring receptive fields, in both directions
      - pad: number of zeros added on every side of the spatial axes

    Returns a tuple of:
    - out: shape (N, F, H', W') with
      H' = 1 + (H + 2 * pad - HH) // stride, W' = 1 + (W + 2 * pad - WW) // stride
      (rows/columns that do not fit a whole window are ignored)
    - cache: (x, w, b, conv_param)
    """
    stride = conv_param["stride"]
    pad = conv_param["pad"]
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = _windows(xp, hh, ww, stride)  # (N, C, H', W', HH, WW)
    out = np.einsum("nchwkl,fckl->nfhw", win, w, optimize=True) + b[None, :, None, None]
    return out, (x, w, b, dict(stride=stride, pad=pad))


def conv_backward_naive(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolutional layer, backward pass.

    Inputs:
    - dout: upstream derivative, shape (N, F, H', W')
    - cache: the cache returned by ``conv_forward_naive``

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dw: gradient with respect to w, shape (F, C, HH, WW)
    - db: gradient with respect to b, shape (F,)
    """
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, h, wd = x.shape
    _, _, hh, ww = w.shape
    _, _, ho, wo = dout.shape

    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = _windows(xp, hh, ww, stride)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nchwkl,nfhw->fckl", win, dout, optimize=True)

    # Each kernel offset (k, l) touches the padded input on a strided grid; looping over the
    # HH*WW offsets (not over pixels) accumulates overlapping contributions correctly.
    dxp = np.zeros_like(xp)
    for k in range(hh):
        rows = slice(k, k + stride * (ho - 1) + 1, stride)
        for l in range(ww):
            cols = slice(l, l + stride * (wo - 1) + 1, stride)
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, k, l])
    dx = dxp[:, :, pad : pad + h, pad : pad + wd]
    return dx, dw, db


def max_pool_forward_naive(
    x: np.ndarray, pool_param: dict[str, Any]
) -> tuple[np.ndarray, tuple]:
    """Max pooling, forward pass.

    out[n, c, i, j] = max_{k < pool_height, l < pool_width} x[n, c, i*stride + k, j*stride + l]
    Windows may overlap (stride < window) and need not be square. (Despite the name, the
    computation is vectorised.)

    Inputs:
    - x: input data, shape (N, C, H, W)
    - pool_param: dict with keys pool_height, pool_width, stride

    Returns a tuple of:
    - out: shape (N, C, H', W') with
      H' = 1 + (H - pool_height) // stride, W' = 1 + (W - pool_width) // stride
    - cache: values needed by ``max_pool_backward_naive``
    """
    ph = pool_param["pool_height"]
    pw = pool_param["pool_width"]
    stride = pool_param["stride"]
    win = _windows(x, ph, pw, stride)  # (N, C, H', W', ph, pw)
    flat = win.reshape(win.shape[:4] + (ph * pw,))
    arg = flat.argmax(axis=-1)  # first maximum of each window
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return out, (x.shape, arg, (ph, pw, stride))


def max_pool_backward_naive(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Max pooling, backward pass.

    Each upstream derivative is routed to the position of its window's maximum (the first
    one, if a window has ties); where windows overlap, contributions to the same input
    position are summed.

    Inputs:
    - dout: upstream derivative, shape (N, C, H', W')
    - cache: the cache returned by ``max_pool_forward_naive``

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W)
    """
    x_shape, arg, (_, pw, stride) = cache
    n, c, ho, wo = dout.shape
    k, l = np.divmod(arg, pw)
    rows = np.arange(ho)[None, None, :, None] * stride + k
    cols = np.arange(wo)[None, None, None, :] * stride + l
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, :, None, None]
    dx = np.zeros(x_shape, dtype=np.result_type(dout, np.float64))
    np.add.at(dx, (nn, cc, rows, cols), dout)
    return dx
