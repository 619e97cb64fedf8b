"""Reference layers in the "deep learning from scratch" convention (class style).

Every layer is an object with ``forward(...)`` and ``backward(dout)``; the backward pass
returns the gradient with respect to the input(s) and leaves parameter gradients on the
object (``dW``, ``db``, ``dgamma``, ``dbeta``). Parameters passed to a constructor are kept
by reference (not copied), so that a network's ``params`` dict and its layers share arrays.

All arrays are float64. No method mutates its arguments or the parameters it holds.
Convolution and pooling go through ``im2col`` / ``col2im``, written here with index arrays.

This module imports NumPy and the standard library only, so that this folder can also be
loaded on its own as a "submission" by the checker.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "AddLayer",
    "MulLayer",
    "Affine",
    "Relu",
    "Sigmoid",
    "Tanh",
    "SoftmaxWithLoss",
    "BatchNormalization",
    "Dropout",
    "Convolution",
    "Pooling",
    "im2col",
    "col2im",
]


def _sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back down to ``shape`` (the shape of the original operand)."""
    grad = np.asarray(grad)
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# --------------------------------------------------------------------------------------------
# Computational-graph nodes
# --------------------------------------------------------------------------------------------
class AddLayer:
    """Addition node: out = x + y.

    forward(x, y): x and y are arrays of the same shape (or scalars; NumPy broadcasting is
    allowed, the gradients are summed back to each operand's shape).
    backward(dout) -> (dx, dy), each with the shape of its operand.
    """

    def __init__(self) -> None:
        self.x_shape: tuple[int, ...] = ()
        self.y_shape: tuple[int, ...] = ()

    def forward(self, x: Any, y: Any) -> Any:
        self.x_shape, self.y_shape = np.shape(x), np.shape(y)
        return x + y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        dx = _sum_to_shape(dout * 1.0, self.x_shape)
        dy = _sum_to_shape(dout * 1.0, self.y_shape)
        return dx, dy


class MulLayer:
    """Multiplication node: out = x * y (element-wise).

    forward(x, y): x and y are arrays of the same shape (or scalars; NumPy broadcasting is
    allowed, the gradients are summed back to each operand's shape).
    backward(dout) -> (dx, dy) = (dout * y, dout * x), each with the shape of its operand.
    """

    def __init__(self) -> None:
        self.x: Any = None
        self.y: Any = None

    def forward(self, x: Any, y: Any) -> Any:
        self.x, self.y = x, y
        return x * y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        dx = _sum_to_shape(dout * self.y, np.shape(self.x))
        dy = _sum_to_shape(dout * self.x, np.shape(self.y))
        return dx, dy


# --------------------------------------------------------------------------------------------
# Affine and activations
# --------------------------------------------------------------------------------------------
class Affine:
    """Fully connected layer: out = x.reshape(N, -1) @ W + b.

    Inputs to the constructor:
    - W: weights, shape (D, M) (kept by reference)
    - b: biases, shape (M,) (kept by reference)

    forward(x): x has shape (N, d_1, ..., d_k) with d_1 * ... * d_k = D; returns (N, M).
    backward(dout): dout (N, M); returns dx with x's shape and sets
    self.dW (D, M) and self.db (M,).
    """

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W = W
        self.b = b
        self.x: np.ndarray | None = None  # the input, flattened to (N, D)
        self.original_x_shape: tuple[int, ...] | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        dx = np.dot(dout, self.W.T)
        return dx.reshape(self.original_x_shape)


class Relu:
    """Rectified linear unit: out = max(0, x), any shape.

    backward(dout) returns dout where x > 0 and 0 elsewhere (the derivative at 0 is 0).
    """

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None  # True where the unit is off (x <= 0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0.0
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = dout.copy()
        dx[self.mask] = 0.0
        return dx


class Sigmoid:
    """Logistic sigmoid: out = 1 / (1 + exp(-x)), any shape.

    Computed as exp(-log(1 + exp(-x))) with ``np.logaddexp``, which neither overflows nor
    warns for large |x|. backward(dout) returns dout * out * (1 - out).
    """

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.exp(-np.logaddexp(0.0, -x))
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1.0 - self.out) * self.out


class Tanh:
    """Hyperbolic tangent: out = tanh(x), any shape. backward(dout) = dout * (1 - out**2)."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1.0 - self.out**2)


# --------------------------------------------------------------------------------------------
# Loss
# --------------------------------------------------------------------------------------------
class SoftmaxWithLoss:
    """Softmax followed by the cross-entropy loss, averaged over the batch.

    forward(x, t) -> loss (float):
    - x: scores, shape (N, C) (a single example of shape (C,) is treated as N = 1)
    - t: labels, either class indices of shape (N,) or one-hot rows of shape (N, C)
    loss = -(1/N) * sum_i log softmax(x_i)[t_i], computed as x - logsumexp(x) (each row
    shifted by its maximum), so it is exact and finite for logits of any size. (The book
    computes log(y + 1e-7); that differs from this by at most about 1e-7 / y.)

    backward(dout=1) -> dx = dout * (softmax(x) - onehot(t)) / N, shape of x.
    After forward, self.y holds softmax(x) (N, C) and self.t the labels as given.
    """

    def __init__(self) -> None:
        self.loss: float | None = None
        self.y: np.ndarray | None = None  # softmax output
        self.t: np.ndarray | None = None  # labels as given
        self._x_shape: tuple[int, ...] | None = None

    @staticmethod
    def _log_softmax(x: np.ndarray) -> np.ndarray:
        m = np.max(x, axis=1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
        return x - lse

    def _onehot(self, n: int, c: int) -> np.ndarray:
        t = np.asarray(self.t)
        if t.ndim == 2:
            return t.reshape(n, c).astype(np.float64)
        onehot = np.zeros((n, c))
        onehot[np.arange(n), t.reshape(n)] = 1.0
        return onehot

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        self._x_shape = x.shape
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        n, c = x2.shape
        self.t = t
        log_p = self._log_softmax(x2)
        self.y = np.exp(log_p)
        self.loss = float(-np.sum(self._onehot(n, c) * log_p) / n)
        return self.loss

    def backward(self, dout: float = 1) -> np.ndarray:
        n, c = self.y.shape
        dx = dout * (self.y - self._onehot(n, c)) / n
        return dx.reshape(self._x_shape)


# --------------------------------------------------------------------------------------------
# Batch normalisation and dropout
# --------------------------------------------------------------------------------------------
class BatchNormalization:
    """Batch normalisation over the batch axis, eps = 1e-6.

    Inputs to the constructor:
    - gamma: scale, shape (D,) (kept by reference)
    - beta: shift, shape (D,) (kept by reference)
    - momentum: constant for the running statistics (default 0.9)
    - running_mean, running_var: shape (D,), or None for zeros(D) at the first forward

    forward(x, train_flg=True): x has shape (N, D), or (N, d_1, ..., d_k) which is flattened
    to (N, D) with D = d_1 * ... * d_k and reshaped back. Train mode normalises with the
    batch mean and biased batch variance and sets
        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var  = momentum * running_var  + (1 - momentum) * batch_var
    (new arrays; the old ones are not modified). Test mode normalises with the running
    statistics. Returns gamma * x_hat + beta in x's shape.

    backward(dout): dout in x's shape; returns dx in x's shape and sets self.dgamma (D,)
    and self.dbeta (D,). Test mode backward is the derivative of the fixed affine map.
    """

    eps = 1e-6

    def __init__(
        self,
        gamma: np.ndarray,
        beta: np.ndarray,
        momentum: float = 0.9,
        running_mean: np.ndarray | None = None,
        running_var: np.ndarray | None = None,
    ) -> None:
        self.gamma = gamma
        self.beta = beta
        self.momentum = momentum
        self.running_mean = running_mean
        self.running_var = running_var
        self.input_shape: tuple[int, ...] | None = None
        self.train_flg: bool = True
        self.batch_size: int | None = None
        self.xc: np.ndarray | None = None  # x - mean
        self.std: np.ndarray | None = None  # sqrt(var + eps)
        self.xn: np.ndarray | None = None  # normalised x
        self.dgamma: np.ndarray | None = None
        self.dbeta: np.ndarray | None = None

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        self.input_shape = x.shape
        x2 = x.reshape(x.shape[0], -1)
        d = x2.shape[1]
        if self.running_mean is None:
            self.running_mean = np.zeros(d)
        if self.running_var is None:
            self.running_var = np.zeros(d)
        self.train_flg = bool(train_flg)

        if self.train_flg:
            mu = x2.mean(axis=0)
            xc = x2 - mu
            var = np.mean(xc**2, axis=0)
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        else:
            xc = x2 - self.running_mean
            var = self.running_var
        std = np.sqrt(var + self.eps)
        xn = xc / std

        self.batch_size = x2.shape[0]
        self.xc, self.std, self.xn = xc, std, xn
        out = self.gamma * xn + self.beta
        return out.reshape(self.input_shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout2 = dout.reshape(dout.shape[0], -1)
        self.dbeta = dout2.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout2, axis=0)
        dxn = self.gamma * dout2
        dxc = dxn / self.std
        if self.train_flg:
            # Step back through std = sqrt(mean(xc**2) + eps) and xc = x - mean(x).
            n = self.batch_size
            dstd = -np.sum(dxn * self.xc / (self.std * self.std), axis=0)
            dvar = 0.5 * dstd / self.std
            dxc = dxc + (2.0 / n) * self.xc * dvar
            dmu = np.sum(dxc, axis=0)
            dx = dxc - dmu / n
        else:
            dx = dxc
        return dx.reshape(self.input_shape)


class Dropout:
    """Plain (non-inverted) dropout; dropout_ratio = probability of DROPPING a unit.

    forward(x, train_flg=True), x of any shape:
    - train: self.mask = np.random.rand(*x.shape) > dropout_ratio (global generator),
      out = x * mask (kept units are NOT scaled)
    - test: out = x * (1 - dropout_ratio) (nothing drawn)
    backward(dout): dout * mask after a train forward, dout * (1 - dropout_ratio) after a
    test forward.
    """

    def __init__(self, dropout_ratio: float = 0.5) -> None:
        self.dropout_ratio = dropout_ratio
        self.mask: np.ndarray | None = None
        self.train_flg: bool = True

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        self.train_flg = bool(train_flg)
        if self.train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask
        self.mask = None
        return x * (1.0 - self.dropout_ratio)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.train_flg:
            return dout * self.mask
        return dout * (1.0 - self.dropout_ratio)


# --------------------------------------------------------------------------------------------
# im2col / col2im, convolution and pooling
# --------------------------------------------------------------------------------------------
def _out_size(size: int, filter_size: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - filter_size) // stride + 1


def _patch_index(
    h: int, w: int, filter_h: int, filter_w: int, stride: int, pad: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Row and column indices (into the padded image) of every patch element.

    Returns (rows, cols, out_h, out_w): rows has shape (filter_h, 1, out_h, 1) and cols
    shape (1, filter_w, 1, out_w); broadcast together they index a
    (filter_h, filter_w, out_h, out_w) grid of pixels.
    """
    out_h = _out_size(h, filter_h, stride, pad)
    out_w = _out_size(w, filter_w, stride, pad)
    rows = np.arange(filter_h)[:, None, None, None] + stride * np.arange(out_h)[None, None, :, None]
    cols = np.arange(filter_w)[None, :, None, None] + stride * np.arange(out_w)[None, None, None, :]
    return rows, cols, out_h, out_w


def im2col(
    input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """Unfold image patches into rows.

    Inputs:
    - input_data: shape (N, C, H, W)
    - filter_h, filter_w: patch size
    - stride, pad: step between patches and zero padding on every side

    Returns:
    - col: shape (N * out_h * out_w, C * filter_h * filter_w); row (n, i, j) (in that order)
      is the patch whose top-left corner is at (i * stride, j * stride) of the padded image,
      flattened in (c, k, l) order
    """
    n, c, h, w = input_data.shape
    rows, cols, out_h, out_w = _patch_index(h, w, filter_h, filter_w, stride, pad)
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    patches = img[:, :, rows, cols]  # (N, C, filter_h, filter_w, out_h, out_w)
    return patches.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, -1)


def col2im(
    col: np.ndarray,
    input_shape: tuple[int, int, int, int],
    filter_h: int,
    filter_w: int,
    stride: int = 1,
    pad: int = 0,
) -> np.ndarray:
    """Fold rows back into an image, summing where patches overlap (adjoint of im2col).

    Inputs:
    - col: shape (N * out_h * out_w, C * filter_h * filter_w)
    - input_shape: (N, C, H, W) of the image that was unfolded
    - filter_h, filter_w, stride, pad: as given to ``im2col``

    Returns:
    - img: shape (N, C, H, W)
    """
    n, c, h, w = input_shape
    rows, cols, out_h, out_w = _patch_index(h, w, filter_h, filter_w, stride, pad)
    patches = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=np.result_type(col, np.float64))
    np.add.at(img, (slice(None), slice(None), rows, cols), patches)
    return img[:, :, pad : pad + h, pad : pad + w]


class Convolution:
    """Convolutional layer (cross-correlation with zero padding) via im2col.

    Inputs to the constructor:
    - W: filters, shape (FN, C, FH, FW) (kept by reference)
    - b: biases, shape (FN,) (kept by reference)
    - stride: step between receptive fields (default 1)
    - pad: zeros added on every side of the spatial axes (default 0)

    forward(x): x (N, C, H, W); returns (N, FN, out_h, out_w) with
    out_h = (H + 2 * pad - FH) // stride + 1, out_w = (W + 2 * pad - FW) // stride + 1.
    backward(dout): dout (N, FN, out_h, out_w); returns dx (N, C, H, W) and sets
    self.dW (FN, C, FH, FW) and self.db (FN,).
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        self.W = W
        self.b = b
        self.stride = stride
        self.pad = pad
        self.x: np.ndarray | None = None
        self.col: np.ndarray | None = None
        self.col_W: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        out_h = _out_size(h, fh, self.stride, self.pad)
        out_w = _out_size(w, fw, self.stride, self.pad)

        col = im2col(x, fh, fw, self.stride, self.pad)
        col_W = self.W.reshape(fn, -1).T
        out = np.dot(col, col_W) + self.b

        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(n, out_h, out_w, fn).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        fn, c, fh, fw = self.W.shape
        dout2 = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = np.sum(dout2, axis=0)
        self.dW = np.dot(self.col.T, dout2).T.reshape(fn, c, fh, fw)
        dcol = np.dot(dout2, self.col_W.T)
        return col2im(dcol, self.x.shape, fh, fw, self.stride, self.pad)


class Pooling:
    """Max pooling via im2col (pad 0 only).

    Inputs to the constructor:
    - pool_h, pool_w: window size (need not be square)
    - stride: step between windows (default 1; windows overlap when stride < window)
    - pad: must be 0

    forward(x): x (N, C, H, W); returns (N, C, out_h, out_w) with
    out_h = (H - pool_h) // stride + 1, out_w = (W - pool_w) // stride + 1.
    backward(dout): routes each upstream derivative to its window's maximum (the first one
    if tied), summing where windows overlap; returns dx (N, C, H, W).
    """

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        if pad != 0:
            raise ValueError("Pooling supports pad=0 only")
        self.pool_h = pool_h
        self.pool_w = pool_w
        self.stride = stride
        self.pad = pad
        self.x: np.ndarray | None = None
        self.arg_max: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        out_h = _out_size(h, self.pool_h, self.stride, self.pad)
        out_w = _out_size(w, self.pool_w, self.stride, self.pad)

        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)  # one window of one channel per row
        self.arg_max = np.argmax(col, axis=1)
        out = np.max(col, axis=1)

        self.x = x
        return out.reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        pool_size = self.pool_h * self.pool_w
        dflat = dout.transpose(0, 2, 3, 1).ravel()
        dmax = np.zeros((dflat.size, pool_size), dtype=np.result_type(dout, np.float64))
        dmax[np.arange(dflat.size), self.arg_max] = dflat
        dcol = dmax.reshape(-1, self.x.shape[1] * pool_size)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)
