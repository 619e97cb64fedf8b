"""Mutation data for the end-to-end tests (no tests in here).

Each :class:`Mutant` is one realistic student bug, applied as an exact text replacement to a
module of ``submissions/cs231n_correct`` or ``submissions/dlfs_correct``: ``find`` occurs
exactly once in ``file`` and is replaced by ``replace``. ``expect_kind`` is the check kind that
must report the bug; ``config_only`` marks bugs that only show in a non-default configuration
(stride > 1, padding, overlapping or non-square windows, N-d input, one-hot labels, ...), and
the failing check must then come from such a configuration. ``expect_status`` is the layer
status the checker must give ("fail" unless the bug makes the layer raise).

Each :class:`Variant` is a *correct* alternative implementation, applied the same way, which
the checker must accept (no false alarms).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"
BASES = {"cs231n": SUBMISSIONS / "cs231n_correct", "dlfs": SUBMISSIONS / "dlfs_correct"}

KINDS = ("gradient", "shape", "dtype", "forward", "state", "stability", "purity", "signature")


@dataclass(frozen=True)
class Mutant:
    id: str
    profile: str
    layer: str
    file: str
    find: str
    replace: str
    expect_kind: str
    note: str
    config_only: bool = False
    expect_status: str = "fail"


@dataclass(frozen=True)
class Variant:
    id: str
    profile: str
    layer: str
    file: str
    find: str
    replace: str


def apply(base_text: str, find: str, replace: str) -> str:
    """Apply one exact replacement; ``find`` must occur exactly once."""
    count = base_text.count(find)
    if count != 1:
        raise ValueError(f"find text occurs {count} times, expected exactly once: {find!r}")
    return base_text.replace(find, replace)


def _cs(id, layer, find, replace, kind, note, **kw):
    return Mutant(id, "cs231n", layer, "layers.py", find, replace, kind, note, **kw)


def _dl(id, layer, find, replace, kind, note, file="layers.py", **kw):
    return Mutant(id, "dlfs", layer, file, find, replace, kind, note, **kw)


MUTANTS: list[Mutant] = [
    # ------------------------------------------------------------------ cs231n: affine
    _cs("cs_affine_dw_divided_by_N", "affine",
        "dw = x.reshape(N, -1).T.dot(dout)",
        "dw = x.reshape(N, -1).T.dot(dout) / N",
        "gradient", "dw averaged over the batch (forgot that the loss already did /N)"),
    _cs("cs_affine_db_mean", "affine",
        "    db = np.sum(dout, axis=0)",
        "    db = np.mean(dout, axis=0)",
        "gradient", "db averaged instead of summed: right shape, wrong values"),
    _cs("cs_affine_db_keepdims", "affine",
        "    db = np.sum(dout, axis=0)",
        "    db = np.sum(dout, axis=0, keepdims=True)",
        "shape", "db has shape (1, M) instead of (M,)"),
    _cs("cs_affine_dw_transposed", "affine",
        "dw = x.reshape(N, -1).T.dot(dout)",
        "dw = dout.T.dot(x.reshape(N, -1))",
        "shape", "dw computed transposed: shape (M, D)"),
    _cs("cs_affine_dx_not_reshaped", "affine",
        "dx = dout.dot(w.T).reshape(x.shape)",
        "dx = dout.dot(w.T)",
        "shape", "dx left as (N, D) instead of x's shape; only visible for N-d x",
        config_only=True),
    _cs("cs_affine_dw_nd_input", "affine",
        "dw = x.reshape(N, -1).T.dot(dout)",
        "dw = x.T.dot(dout)",
        "shape", "dw uses x without flattening it; breaks only for N-d x", config_only=True),
    _cs("cs_affine_float32", "affine",
        "out = x_row.dot(w) + b",
        "out = (x_row.dot(w) + b).astype(np.float32)",
        "dtype", "forward output cast to float32"),
    _cs("cs_affine_missing_bias_arg", "affine",
        "def affine_forward(x, w, b):",
        "def affine_forward(x, w):\n    b = 0",
        "signature", "affine_forward does not take b", expect_status="error"),
    # ------------------------------------------------------------------ cs231n: relu
    _cs("cs_relu_no_mask", "relu",
        "    dx = dout.copy()\n    dx[x <= 0] = 0\n",
        "    dx = dout.copy()\n",
        "gradient", "relu_backward passes dout through unmasked"),
    _cs("cs_relu_mask_wrong_side", "relu",
        "    dx[x <= 0] = 0\n",
        "    dx[x > 0] = 0\n",
        "gradient", "mask zeroes the positive side"),
    _cs("cs_relu_backward_returns_mask", "relu",
        "    dx = dout.copy()\n    dx[x <= 0] = 0\n",
        "    dx = (x > 0).astype(float)\n",
        "gradient", "relu_backward ignores dout and returns the local derivative"),
    _cs("cs_relu_forward_in_place", "relu",
        "    out = np.maximum(0, x)\n",
        "    x[x < 0] = 0\n    out = x\n",
        "purity", "relu_forward zeroes the caller's x in place"),
    # ------------------------------------------------------------------ cs231n: sigmoid
    _cs("cs_sigmoid_backward_uses_x", "sigmoid",
        "    out = 1.0 / (1.0 + np.exp(-x))\n    cache = out\n",
        "    out = 1.0 / (1.0 + np.exp(-x))\n    cache = x\n",
        "gradient", "sigmoid caches x, backward then uses x*(1-x)"),
    _cs("cs_sigmoid_backward_missing_factor", "sigmoid",
        "dx = dout * out * (1.0 - out)",
        "dx = dout * (1.0 - out)",
        "gradient", "sigmoid derivative missing the factor out"),
    _cs("cs_sigmoid_float32", "sigmoid",
        "    out = 1.0 / (1.0 + np.exp(-x))\n",
        "    out = (1.0 / (1.0 + np.exp(-x))).astype(np.float32)\n",
        "dtype", "sigmoid output cast to float32"),
    # ------------------------------------------------------------------ cs231n: tanh
    _cs("cs_tanh_derivative_1_minus_out", "tanh",
        "dx = dout * (1 - t ** 2)",
        "dx = dout * (1 - t)",
        "gradient", "tanh derivative written 1 - out instead of 1 - out**2"),
    _cs("cs_tanh_is_sigmoid", "tanh",
        "    out = np.tanh(x)\n",
        "    out = 1.0 / (1.0 + np.exp(-x))\n",
        "forward", "tanh implemented as the sigmoid"),
    _cs("cs_tanh_exp_formula_overflow", "tanh",
        "    out = np.tanh(x)\n",
        "    out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))\n",
        "stability", "textbook exp formula: inf/inf = nan for |x| = 1000"),
    _cs("cs_tanh_backward_mutates_cache", "tanh",
        "    dx = dout * (1 - t ** 2)\n",
        "    t **= 2\n    dx = dout * (1 - t)\n",
        "purity", "backward squares the cached output in place (corrupts cache and the returned out)"),
    # ------------------------------------------------------------------ cs231n: softmax
    _cs("cs_softmax_sum_not_mean", "softmax_loss",
        "loss = -np.sum(log_probs[np.arange(num_train), y]) / num_train",
        "loss = -np.sum(log_probs[np.arange(num_train), y])",
        "forward", "loss summed over the batch instead of averaged"),
    _cs("cs_softmax_sign_flip", "softmax_loss",
        "dx[np.arange(num_train), y] -= 1",
        "dx[np.arange(num_train), y] += 1",
        "gradient", "dx adds 1 at the correct class instead of subtracting"),
    _cs("cs_softmax_grad_not_divided", "softmax_loss",
        "    dx /= num_train\n",
        "",
        "gradient", "forgot to divide dx by N"),
    _cs("cs_softmax_no_max_shift", "softmax_loss",
        "shifted_logits = x - np.max(x, axis=1, keepdims=True)",
        "shifted_logits = x",
        "stability", "no max shift: exp(1000) overflows to inf, loss nan"),
    _cs("cs_softmax_log_of_probs", "softmax_loss",
        "loss = -np.sum(log_probs[np.arange(num_train), y]) / num_train",
        "loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train",
        "stability", "log of an underflowed probability: -log(0) = inf at logits ±1000"),
    # ------------------------------------------------------------------ cs231n: svm
    _cs("cs_svm_no_margin", "svm_loss",
        "margin = x[i, j] - correct_score + 1  # note delta = 1",
        "margin = x[i, j] - correct_score",
        "forward", "hinge without the +1 margin"),
    _cs("cs_svm_counts_correct_class", "svm_loss",
        "            if j == y[i]:\n                continue\n",
        "",
        "forward", "sums over j == y too (adds 1 per sample)"),
    _cs("cs_svm_grad_not_divided", "svm_loss",
        "    loss /= N\n    dx /= N\n",
        "    loss /= N\n",
        "gradient", "forgot to divide dx by N"),
    _cs("cs_svm_extra_required_arg", "svm_loss",
        "def svm_loss(x, y):",
        "def svm_loss(x, y, delta):",
        "signature", "svm_loss requires a third argument", expect_status="error"),
    # ------------------------------------------------------------------ cs231n: batchnorm
    _cs("cs_bn_backward_missing_dmu", "batchnorm",
        "dx = dx_hat * std_inv + dvar * 2.0 * (x - mu) / N + dmu / N",
        "dx = dx_hat * std_inv + dvar * 2.0 * (x - mu) / N",
        "gradient", "batchnorm dx misses the mean's term"),
    _cs("cs_bn_backward_missing_dvar", "batchnorm",
        "dx = dx_hat * std_inv + dvar * 2.0 * (x - mu) / N + dmu / N",
        "dx = dx_hat * std_inv + dmu / N",
        "gradient", "batchnorm dx misses the variance's term"),
    _cs("cs_bn_unbiased_var", "batchnorm",
        "sample_var = np.var(x, axis=0)",
        "sample_var = np.var(x, axis=0, ddof=1)",
        "forward", "unbiased (N-1) variance in train mode"),
    _cs("cs_bn_no_sqrt", "batchnorm",
        "x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)",
        "x_hat = (x - sample_mean) / (sample_var + eps)",
        "forward", "normalises by var + eps instead of sqrt(var + eps)"),
    _cs("cs_bn_running_mean_not_updated", "batchnorm",
        "        running_mean = momentum * running_mean + (1 - momentum) * sample_mean\n",
        "",
        "state", "running mean never updated"),
    _cs("cs_bn_running_var_momentum_swapped", "batchnorm",
        "running_var = momentum * running_var + (1 - momentum) * sample_var",
        "running_var = (1 - momentum) * running_var + momentum * sample_var",
        "state", "momentum applied to the batch statistic instead of the running one"),
    _cs("cs_bn_test_uses_batch_stats", "batchnorm",
        "x_norm = (x - running_mean) / np.sqrt(running_var + eps)",
        "x_norm = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)",
        "state", "test mode normalises with the batch statistics"),
    _cs("cs_bn_forward_centres_x_in_place", "batchnorm",
        "        x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)\n",
        "        x -= sample_mean\n        x_hat = x / np.sqrt(sample_var + eps)\n",
        "purity", "batchnorm_forward subtracts the mean from the caller's x in place"),
    # ------------------------------------------------------------------ cs231n: layernorm
    _cs("cs_ln_backward_wrong_axis", "layernorm",
        "sum_dxhat = np.sum(dxhat, axis=1, keepdims=True)",
        "sum_dxhat = np.sum(dxhat, axis=0, keepdims=True)",
        "gradient", "layernorm backward sums over the batch axis"),
    _cs("cs_ln_forward_wrong_axis", "layernorm",
        "    mu = np.mean(x, axis=1, keepdims=True)\n    var = np.var(x, axis=1, keepdims=True)\n",
        "    mu = np.mean(x, axis=0, keepdims=True)\n    var = np.var(x, axis=0, keepdims=True)\n",
        "forward", "layernorm normalises per feature (batchnorm axis)"),
    # ------------------------------------------------------------------ cs231n: dropout
    _cs("cs_dropout_backward_no_mask", "dropout",
        "        dx = dout * mask\n",
        "        dx = dout\n",
        "gradient", "dropout backward ignores the mask"),
    _cs("cs_dropout_backward_no_scale", "dropout",
        "        dx = dout * mask\n",
        "        dx = dout * (mask > 0)\n",
        "gradient", "dropout backward applies the mask but not the 1/p scaling"),
    _cs("cs_dropout_no_inverted_scaling", "dropout",
        "mask = (np.random.rand(*x.shape) < p) / p",
        "mask = (np.random.rand(*x.shape) < p)",
        "forward", "plain (non-inverted) dropout: kept units not scaled by 1/p"),
    _cs("cs_dropout_p_is_drop_prob", "dropout",
        "mask = (np.random.rand(*x.shape) < p) / p",
        "mask = (np.random.rand(*x.shape) > p) / p",
        "forward", "treats p as the drop probability"),
    _cs("cs_dropout_test_mode_scales", "dropout",
        "    elif mode == \"test\":\n"
        "        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n\n"
        "        out = x\n",
        "    elif mode == \"test\":\n"
        "        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n\n"
        "        out = x * p\n",
        "state", "test mode scales by p although inverted dropout already scaled in train"),
    # ------------------------------------------------------------------ cs231n: conv
    _cs("cs_conv_ignores_stride", "conv",
        "window = x_padded[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]",
        "window = x_padded[n, :, i:i + HH, j:j + WW]",
        "forward", "windows always step by 1", config_only=True),
    _cs("cs_conv_dx_crop_wrong_corner", "conv",
        "dx = dx_pad[:, :, pad:pad + H, pad:pad + W]",
        "dx = dx_pad[:, :, :H, :W]",
        "gradient", "dx cropped from the top-left corner; only wrong with padding",
        config_only=True),
    _cs("cs_conv_dx_crop_negative_pad", "conv",
        "dx = dx_pad[:, :, pad:pad + H, pad:pad + W]",
        "dx = dx_pad[:, :, pad:-pad, pad:-pad]",
        "shape", "pad:-pad is empty when pad == 0"),
    _cs("cs_conv_dw_not_accumulated", "conv",
        "dw[f] += x_pad[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]",
        "dw[f] = x_pad[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]",
        "gradient", "dw overwritten instead of summed over the batch and positions"),
    _cs("cs_conv_dx_not_times_w", "conv",
        "dx_pad[n, :, hs:hs + HH, ws:ws + WW] += w[f] * dout[n, f, i, j]",
        "dx_pad[n, :, hs:hs + HH, ws:ws + WW] += dout[n, f, i, j]",
        "gradient", "dx not multiplied by the filter"),
    _cs("cs_conv_db_wrong_axes", "conv",
        "db = np.sum(dout, axis=(0, 2, 3))",
        "db = np.sum(dout, axis=(1, 2, 3))",
        "shape", "db summed over filters instead of the batch: shape (N,)"),
    _cs("cs_conv_float32", "conv",
        "out = np.zeros((N, F, H_out, W_out))",
        "out = np.zeros((N, F, H_out, W_out), dtype=np.float32)",
        "dtype", "conv output buffer allocated as float32"),
    # ------------------------------------------------------------------ cs231n: maxpool
    _cs("cs_pool_assign_not_accumulate", "maxpool",
        "dx[n, c, hs + r, ws + s] += dout[n, c, i, j]",
        "dx[n, c, hs + r, ws + s] = dout[n, c, i, j]",
        "gradient", "assignment instead of accumulation: wrong where windows overlap",
        config_only=True),
    _cs("cs_pool_grad_to_every_element", "maxpool",
        "dx[n, c, hs + r, ws + s] += dout[n, c, i, j]",
        "dx[n, c, hs:hs + ph, ws:ws + pw] += dout[n, c, i, j]",
        "gradient", "gradient spread over the whole window instead of the argmax"),
    _cs("cs_pool_assumes_square", "maxpool",
        'pool_width = pool_param["pool_width"]',
        'pool_width = pool_param["pool_height"]',
        "forward", "forward uses pool_height for both sides", config_only=True),
    _cs("cs_pool_assumes_stride_is_window", "maxpool",
        "                    h1 = i * stride\n                    w1 = j * stride\n",
        "                    h1 = i * pool_height\n                    w1 = j * pool_width\n",
        "forward", "windows placed as if stride == window size (raises where windows overlap)",
        config_only=True, expect_status="error"),
    # ------------------------------------------------------------------ cs231n: TwoLayerNet
    Mutant("cs_net_reg_grad_missing_W2", "cs231n", "two_layer_net", "fc_net.py",
           'grads["W2"] = dW2 + self.reg * W2',
           'grads["W2"] = dW2',
           "gradient", "regularisation gradient forgotten for W2 (only visible with reg > 0)",
           config_only=True),
    Mutant("cs_net_relu_mask_skipped", "cs231n", "two_layer_net", "fc_net.py",
           "da1 = relu_backward(dh1, relu_cache)",
           "da1 = dh1",
           "gradient", "network backward skips the ReLU"),
    # ------------------------------------------------------------------ dlfs: add / mul
    _dl("dl_mul_dx_dy_swapped", "mul",
        "        dx = dout * self.y  # swap x and y\n        dy = dout * self.x\n",
        "        dx = dout * self.x\n        dy = dout * self.y\n",
        "gradient", "MulLayer returns dx and dy swapped"),
    _dl("dl_add_ignores_dout", "add",
        "        dx = dout * 1\n        dy = dout * 1\n",
        "        dx = np.ones_like(dout)\n        dy = np.ones_like(dout)\n",
        "gradient", "AddLayer backward ignores dout"),
    # ------------------------------------------------------------------ dlfs: relu
    _dl("dl_relu_mask_wrong_side", "relu",
        "        dout[self.mask] = 0\n",
        "        dout[~self.mask] = 0\n",
        "gradient", "backward zeroes the positive side"),
    _dl("dl_relu_backward_returns_mask", "relu",
        "        dout[self.mask] = 0\n        dx = dout\n",
        "        dx = (~self.mask).astype(float)\n",
        "gradient", "backward ignores dout"),
    _dl("dl_relu_forward_in_place", "relu",
        "        out = x.copy()\n",
        "        out = x\n",
        "purity", "forgot the copy: forward zeroes the caller's x"),
    # ------------------------------------------------------------------ dlfs: sigmoid / tanh
    _dl("dl_sigmoid_backward_missing_factor", "sigmoid",
        "dx = dout * (1.0 - self.out) * self.out",
        "dx = dout * (1.0 - self.out)",
        "gradient", "sigmoid derivative missing the factor out"),
    _dl("dl_tanh_derivative_1_minus_out", "tanh",
        "dx = dout * (1.0 - self.out ** 2)",
        "dx = dout * (1.0 - self.out)",
        "gradient", "tanh derivative written 1 - out"),
    # ------------------------------------------------------------------ dlfs: affine
    _dl("dl_affine_dx_not_reshaped", "affine",
        "        dx = dx.reshape(*self.original_x_shape)  # back to the input's shape\n",
        "",
        "shape", "dx left 2-d for N-d input", config_only=True),
    _dl("dl_affine_dW_transposed", "affine",
        "self.dW = np.dot(self.x.T, dout)",
        "self.dW = np.dot(dout.T, self.x)",
        "shape", "dW has shape (M, D)"),
    _dl("dl_affine_db_keepdims", "affine",
        "        self.dW = np.dot(self.x.T, dout)\n        self.db = np.sum(dout, axis=0)\n",
        "        self.dW = np.dot(self.x.T, dout)\n        self.db = np.sum(dout, axis=0, keepdims=True)\n",
        "shape", "db has shape (1, M)"),
    _dl("dl_affine_float32", "affine",
        "out = np.dot(self.x, self.W) + self.b",
        "out = (np.dot(self.x, self.W) + self.b).astype(np.float32)",
        "dtype", "forward output cast to float32"),
    # ------------------------------------------------------------------ dlfs: softmax
    _dl("dl_softmax_backward_sign", "softmax_loss",
        "dx[np.arange(batch_size), self.t] -= 1",
        "dx[np.arange(batch_size), self.t] += 1",
        "gradient", "dx adds 1 at the label"),
    _dl("dl_softmax_onehot_not_divided", "softmax_loss",
        "            dx = (self.y - self.t) / batch_size\n",
        "            dx = self.y - self.t\n",
        "gradient", "one-hot branch forgets / batch_size", config_only=True),
    _dl("dl_softmax_onehot_not_converted", "softmax_loss",
        "    if t.size == y.size:\n        t = t.argmax(axis=1)\n",
        "",
        "forward", "cross_entropy_error indexes with one-hot labels", file="functions.py",
        config_only=True, expect_status="error"),
    _dl("dl_softmax_sum_not_mean", "softmax_loss",
        "return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size",
        "return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7))",
        "forward", "cross entropy summed over the batch", file="functions.py"),
    _dl("dl_softmax_no_max_shift", "softmax_loss",
        "    x = x - np.max(x, axis=-1, keepdims=True)\n",
        "",
        "stability", "softmax without the max shift overflows at logits 1000",
        file="functions.py"),
    _dl("dl_softmax_log_without_eps", "softmax_loss",
        "np.log(y[np.arange(batch_size), t] + 1e-7)",
        "np.log(y[np.arange(batch_size), t])",
        "stability", "log(0) = -inf when the label's probability underflows",
        file="functions.py"),
    # ------------------------------------------------------------------ dlfs: batchnorm
    _dl("dl_bn_backward_missing_var_term", "batchnorm",
        "        dxc += (2.0 / self.batch_size) * self.xc * dvar\n",
        "",
        "gradient", "batchnorm backward misses the variance's term"),
    _dl("dl_bn_backward_missing_mean_term", "batchnorm",
        "dx = dxc - dmu / self.batch_size",
        "dx = dxc",
        "gradient", "batchnorm backward misses the mean's term"),
    _dl("dl_bn_unbiased_var", "batchnorm",
        "var = np.mean(xc ** 2, axis=0)",
        "var = np.sum(xc ** 2, axis=0) / (x.shape[0] - 1)",
        "forward", "unbiased variance"),
    _dl("dl_bn_running_var_momentum_swapped", "batchnorm",
        "self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var",
        "self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var",
        "state", "momentum on the wrong side"),
    _dl("dl_bn_running_mean_not_updated", "batchnorm",
        "            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu\n",
        "",
        "state", "running mean never updated"),
    _dl("dl_bn_test_uses_batch_stats", "batchnorm",
        "            xc = x - self.running_mean\n"
        "            xn = xc / ((np.sqrt(self.running_var + 10e-7)))\n",
        "            xc = x - x.mean(axis=0)\n"
        "            xn = xc / np.sqrt(np.mean(xc ** 2, axis=0) + 10e-7)\n",
        "state", "test mode uses the batch statistics"),
    _dl("dl_bn_forward_centres_x_in_place", "batchnorm",
        "            xc = x - mu\n",
        "            x -= mu\n            xc = x\n",
        "purity", "forward centres the caller's x in place"),
    # ------------------------------------------------------------------ dlfs: dropout
    _dl("dl_dropout_test_not_scaled", "dropout",
        "            return x * (1.0 - self.dropout_ratio)\n",
        "            return x\n",
        "state", "test mode does not scale by 1 - ratio"),
    _dl("dl_dropout_backward_no_mask", "dropout",
        "        return dout * self.mask\n",
        "        return dout\n",
        "gradient", "backward ignores the mask"),
    _dl("dl_dropout_ratio_is_keep_prob", "dropout",
        "self.mask = np.random.rand(*x.shape) > self.dropout_ratio",
        "self.mask = np.random.rand(*x.shape) < self.dropout_ratio",
        "forward", "dropout_ratio treated as the keep probability"),
    # ------------------------------------------------------------------ dlfs: conv / pool
    _dl("dl_conv_dW_not_transposed_back", "conv",
        "self.dW = self.dW.transpose(1, 0).reshape(FN, C, FH, FW)",
        "self.dW = self.dW.reshape(FN, C, FH, FW)",
        "gradient", "dW reshaped without transposing back: right shape, scrambled values"),
    _dl("dl_conv_db_not_summed", "conv",
        "        self.db = np.sum(dout, axis=0)\n        self.dW = np.dot(self.col.T, dout)\n",
        "        self.db = np.sum(dout, axis=1)\n        self.dW = np.dot(self.col.T, dout)\n",
        "shape", "db summed over the wrong axis of the im2col matrix"),
    _dl("dl_col2im_assign_not_accumulate", "maxpool",
        "img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]",
        "img[:, :, y:y_max:stride, x:x_max:stride] = col[:, :, y, x, :, :]",
        "gradient", "col2im overwrites where windows overlap", file="util.py",
        config_only=True),
    _dl("dl_pool_grad_to_every_element", "maxpool",
        "dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()",
        "dmax[:, :] = dout.flatten()[:, None]",
        "gradient", "gradient copied to every element of the window"),
]


# ----------------------------------------------------------------------------- variants
_CS_SOFTMAX_BODY = """\
    num_train = x.shape[0]
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    loss = -np.sum(log_probs[np.arange(num_train), y]) / num_train
    dx = probs.copy()
    dx[np.arange(num_train), y] -= 1
    dx /= num_train
"""

_CS_SOFTMAX_LOGSUMEXP = """\
    N = x.shape[0]
    m = x.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(x - m).sum(axis=1))
    loss = np.mean(lse - x[np.arange(N), y])
    dx = np.exp(x - lse[:, None])
    dx[np.arange(N), y] -= 1.0
    dx = dx / N
"""

_CS_SVM_LOOP = """\
    N, C = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for i in range(N):
        correct_score = x[i, y[i]]
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - correct_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    loss /= N
    dx /= N
"""

_CS_SVM_VECTORISED = """\
    N = x.shape[0]
    correct_class_scores = x[np.arange(N), y]
    margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
"""

_CS_BN_BACKWARD = """\
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mu), axis=0) * -0.5 * std_inv ** 3
    dmu = np.sum(-dx_hat * std_inv, axis=0) + dvar * np.mean(-2.0 * (x - mu), axis=0)
    dx = dx_hat * std_inv + dvar * 2.0 * (x - mu) / N + dmu / N
"""

_CS_BN_BACKWARD_ALT = """\
    dx = (gamma * std_inv / N) * (N * dout - dbeta - x_hat * dgamma)
"""

_CS_CONV_FORWARD_LOOPS = """\
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_padded[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
"""

_CS_CONV_FORWARD_IM2COL = """\
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    cols = np.zeros((N, C, HH, WW, H_out, W_out))
    for r in range(HH):
        for s in range(WW):
            cols[:, :, r, s] = x_padded[:, :, r:r + stride * H_out:stride, s:s + stride * W_out:stride]
    cols = cols.transpose(0, 4, 5, 1, 2, 3).reshape(N * H_out * W_out, -1)
    out = cols.dot(w.reshape(F, -1).T) + b
    out = out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
"""

_CS_CONV_BACKWARD_LOOPS = """\
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs = i * stride
                    ws = j * stride
                    dw[f] += x_pad[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]
                    dx_pad[n, :, hs:hs + HH, ws:ws + WW] += w[f] * dout[n, f, i, j]
"""

_CS_CONV_BACKWARD_TENSORDOT = """\
    for i in range(H_out):
        for j in range(W_out):
            hs = i * stride
            ws = j * stride
            window = x_pad[:, :, hs:hs + HH, ws:ws + WW]
            g = dout[:, :, i, j]
            dw += np.tensordot(g, window, axes=([0], [0]))
            dx_pad[:, :, hs:hs + HH, ws:ws + WW] += np.tensordot(g, w, axes=([1], [0]))
"""

_CS_POOL_BACKWARD_ARGMAX = """\
                    region = x[n, c, hs:hs + ph, ws:ws + pw]
                    r, s = np.unravel_index(np.argmax(region), region.shape)
                    dx[n, c, hs + r, ws + s] += dout[n, c, i, j]
"""

_CS_POOL_BACKWARD_MASK = """\
                    region = x[n, c, hs:hs + ph, ws:ws + pw]
                    mask = region == np.max(region)
                    dx[n, c, hs:hs + ph, ws:ws + pw] += mask * dout[n, c, i, j]
"""

_DL_SOFTMAX_BACKWARD = """\
    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:  # one-hot labels
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size

        return dx
"""

_DL_SOFTMAX_BACKWARD_ARGMAX = """\
    def backward(self, dout=1):
        t = self.t
        if t.ndim == 2:  # one-hot labels -> class indices
            t = t.argmax(axis=1)
        batch_size = t.shape[0]
        dx = self.y.copy()
        dx[np.arange(batch_size), t] -= 1
        return dout * dx / batch_size
"""


def _vcs(id, layer, find, replace):
    return Variant(id, "cs231n", layer, "layers.py", find, replace)


def _vdl(id, layer, find, replace, file="layers.py"):
    return Variant(id, "dlfs", layer, file, find, replace)


CORRECT_VARIANTS: list[Variant] = [
    _vcs("cs_relu_np_where", "relu",
         "    out = np.maximum(0, x)\n", "    out = np.where(x > 0, x, 0.0)\n"),
    _vcs("cs_relu_backward_mask_times_dout", "relu",
         "    dx = dout.copy()\n    dx[x <= 0] = 0\n", "    dx = (x > 0) * dout\n"),
    _vcs("cs_relu_backward_dout_times_mask", "relu",
         "    dx = dout.copy()\n    dx[x <= 0] = 0\n", "    dx = dout * (x > 0)\n"),
    _vcs("cs_sigmoid_via_tanh", "sigmoid",
         "    out = 1.0 / (1.0 + np.exp(-x))\n", "    out = 0.5 * (1.0 + np.tanh(0.5 * x))\n"),
    _vcs("cs_tanh_via_sigmoid_identity", "tanh",
         "    out = np.tanh(x)\n", "    out = 2.0 / (1.0 + np.exp(-2.0 * x)) - 1.0\n"),
    _vcs("cs_affine_einsum", "affine",
         "    dx = dout.dot(w.T).reshape(x.shape)\n"
         "    dw = x.reshape(N, -1).T.dot(dout)\n"
         "    db = np.sum(dout, axis=0)\n",
         "    x2 = x.reshape(N, -1)\n"
         "    dx = np.einsum('nm,dm->nd', dout, w).reshape(x.shape)\n"
         "    dw = np.einsum('nd,nm->dm', x2, dout)\n"
         "    db = np.einsum('nm->m', dout)\n"),
    _vcs("cs_affine_db_keepdims_then_reshape", "affine",
         "    db = np.sum(dout, axis=0)\n",
         "    db = np.sum(dout, axis=0, keepdims=True)\n    db = db.reshape(-1)\n"),
    _vcs("cs_softmax_logsumexp", "softmax_loss", _CS_SOFTMAX_BODY, _CS_SOFTMAX_LOGSUMEXP),
    _vcs("cs_svm_vectorised", "svm_loss", _CS_SVM_LOOP, _CS_SVM_VECTORISED),
    _vcs("cs_bn_backward_alt_formula", "batchnorm", _CS_BN_BACKWARD, _CS_BN_BACKWARD_ALT),
    _vcs("cs_dropout_binomial_mask", "dropout",
         "mask = (np.random.rand(*x.shape) < p) / p",
         "mask = np.random.binomial(1, p, size=x.shape) / p"),
    _vcs("cs_conv_forward_im2col", "conv", _CS_CONV_FORWARD_LOOPS, _CS_CONV_FORWARD_IM2COL),
    _vcs("cs_conv_backward_tensordot", "conv", _CS_CONV_BACKWARD_LOOPS,
         _CS_CONV_BACKWARD_TENSORDOT),
    _vcs("cs_pool_backward_equality_mask", "maxpool", _CS_POOL_BACKWARD_ARGMAX,
         _CS_POOL_BACKWARD_MASK),
    _vdl("dl_relu_backward_np_where", "relu",
         "        dout[self.mask] = 0\n        dx = dout\n",
         "        dx = np.where(self.mask, 0.0, dout)\n"),
    _vdl("dl_softmax_onehot_by_argmax", "softmax_loss", _DL_SOFTMAX_BACKWARD,
         _DL_SOFTMAX_BACKWARD_ARGMAX),
    _vdl("dl_dropout_binomial_mask", "dropout",
         "self.mask = np.random.rand(*x.shape) > self.dropout_ratio",
         "self.mask = np.random.binomial(1, 1.0 - self.dropout_ratio, size=x.shape).astype(bool)"),
    _vdl("dl_affine_matmul_operator", "affine",
         "        dx = np.dot(dout, self.W.T)\n        self.dW = np.dot(self.x.T, dout)\n",
         "        dx = dout @ self.W.T\n        self.dW = self.x.T @ dout\n"),
    _vdl("dl_sigmoid_stable_where", "sigmoid",
         "        out = sigmoid(x)\n",
         "        out = np.exp(-np.logaddexp(0.0, -x))\n"),
    _vdl("dl_bn_backward_alt_formula", "batchnorm",
         "        dx = dxc - dmu / self.batch_size\n",
         "        dx = (self.gamma / self.std) * (dout - dbeta / self.batch_size"
         " - self.xn * dgamma / self.batch_size)\n"),
]
