"""Network-level checks of ``two_layer_net`` (issue 6): init, symmetry, whole-net gradients,
parameters shared with the layers.

Each mutant is a correct two-layer net written below with exactly one bug, saved as a small
source file in tmp_path; it must be caught by the right kind of check with a message that names
the problem. Correct nets (ours and the reference folders) must pass under many seeds.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

import gradcheck
from gradcheck import check_submission, reference_path

LAYER = "two_layer_net"

CS231N_NET = textwrap.dedent('''
    import numpy as np


    class TwoLayerNet:
        def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                     weight_scale=1e-3, reg=0.0):
            self.reg = reg
            self.params = {}
            self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
            self.params["b1"] = np.zeros(hidden_dim)
            self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
            self.params["b2"] = np.zeros(num_classes)

        def loss(self, X, y=None):
            W1, b1 = self.params["W1"], self.params["b1"]
            W2, b2 = self.params["W2"], self.params["b2"]
            N = X.shape[0]
            x = X.reshape(N, -1)
            a1 = x.dot(W1) + b1
            h1 = np.maximum(a1, 0)
            scores = h1.dot(W2) + b2
            if y is None:
                return scores
            shifted = scores - scores.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -logp[np.arange(N), y].mean()
            loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
            dscores = np.exp(logp)
            dscores[np.arange(N), y] -= 1
            dscores /= N
            grads = {}
            grads["W2"] = h1.T.dot(dscores) + self.reg * W2
            grads["b2"] = dscores.sum(axis=0)
            dh1 = dscores.dot(W2.T)
            da1 = dh1 * (a1 > 0)
            grads["W1"] = x.T.dot(da1) + self.reg * W1
            grads["b1"] = da1.sum(axis=0)
            return loss, grads
''')

DLFS_NET = textwrap.dedent('''
    import numpy as np
    from collections import OrderedDict


    class Affine:
        def __init__(self, W, b):
            self.W = W
            self.b = b
            self.x = None
            self.dW = None
            self.db = None

        def forward(self, x):
            self.x = x
            return np.dot(x, self.W) + self.b

        def backward(self, dout):
            dx = np.dot(dout, self.W.T)
            self.dW = np.dot(self.x.T, dout)
            self.db = np.sum(dout, axis=0)
            return dx


    class Relu:
        def forward(self, x):
            self.mask = (x <= 0)
            out = x.copy()
            out[self.mask] = 0
            return out

        def backward(self, dout):
            dout = dout.copy()
            dout[self.mask] = 0
            return dout


    class SoftmaxWithLoss:
        def forward(self, x, t):
            self.t = t
            x = x - x.max(axis=1, keepdims=True)
            self.y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
            n = x.shape[0]
            p = self.y[np.arange(n), t] if t.ndim == 1 else np.sum(self.y * t, axis=1)
            return -np.sum(np.log(p + 1e-7)) / n

        def backward(self, dout=1):
            n = self.y.shape[0]
            if self.t.ndim == 1:
                dx = self.y.copy()
                dx[np.arange(n), self.t] -= 1
            else:
                dx = self.y - self.t
            return dout * dx / n


    class TwoLayerNet:
        def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
            self.params = {}
            self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
            self.params['b1'] = np.zeros(hidden_size)
            self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
            self.params['b2'] = np.zeros(output_size)
            self.layers = OrderedDict()
            self.layers['Affine1'] = Affine(self.params['W1'], self.params['b1'])
            self.layers['Relu1'] = Relu()
            self.layers['Affine2'] = Affine(self.params['W2'], self.params['b2'])
            self.lastLayer = SoftmaxWithLoss()

        def predict(self, x):
            for layer in self.layers.values():
                x = layer.forward(x)
            return x

        def loss(self, x, t):
            return self.lastLayer.forward(self.predict(x), t)

        def gradient(self, x, t):
            self.loss(x, t)
            dout = self.lastLayer.backward(1)
            for layer in reversed(list(self.layers.values())):
                dout = layer.backward(dout)
            grads = {}
            grads['W1'] = self.layers['Affine1'].dW
            grads['b1'] = self.layers['Affine1'].db
            grads['W2'] = self.layers['Affine2'].dW
            grads['b2'] = self.layers['Affine2'].db
            return grads
''')

NETS = {"cs231n": CS231N_NET, "dlfs": DLFS_NET}


@dataclass(frozen=True)
class NetMutant:
    id: str
    profile: str
    find: str
    replace: str
    kind: str        # the kind of check that must fail
    words: tuple     # words the failing message must contain (case-insensitive)
    name: str = ""   # a prefix of the failing check's name (optional)


_C_W1 = 'weight_scale * np.random.randn(input_dim, hidden_dim)'
_D_W1 = "weight_init_std * np.random.randn(input_size, hidden_size)"

MUTANTS = [
    # ---------------------------------------------------------------- initialisation
    NetMutant("zero-init", "cs231n", _C_W1, "np.zeros((input_dim, hidden_dim))",
              "init", ("all zeros", "same gradient", "np.random.randn"), "init:W1"),
    NetMutant("zero-init", "dlfs", _D_W1, "np.zeros((input_size, hidden_size))",
              "init", ("all zeros", "symmetry"), "init:W1"),
    NetMutant("constant-init", "cs231n",
              'weight_scale * np.random.randn(hidden_dim, num_classes)',
              "np.full((hidden_dim, num_classes), weight_scale)",
              "init", ("every entry", "identical", "randn"), "init:W2"),
    NetMutant("constant-init", "dlfs", _D_W1,
              "np.ones((input_size, hidden_size)) * weight_init_std",
              "init", ("every entry", "identical"), "init:W1"),
    NetMutant("column-repeated", "cs231n", 'self.params["b1"] = np.zeros(hidden_dim)',
              'self.params["W1"][:, -1] = self.params["W1"][:, 0]\n'
              '        self.params["b1"] = np.zeros(hidden_dim)',
              "init", ("hidden units 0 and", "identical incoming weights", "copies"),
              "init:W1"),
    NetMutant("column-repeated", "dlfs", _D_W1,
              "np.repeat(weight_init_std * np.random.randn(input_size, 1), hidden_size, axis=1)",
              "init", ("identical incoming weights",), "init:W1"),
    NetMutant("row-repeated", "dlfs",
              "weight_init_std * np.random.randn(hidden_size, output_size)",
              "np.tile(weight_init_std * np.random.randn(1, output_size), (hidden_size, 1))",
              "init", ("identical outgoing weights",), "init:W2"),
    NetMutant("scale-ignored", "cs231n", _C_W1, "1e-3 * np.random.randn(input_dim, hidden_dim)",
              "init", ("standard deviation", "ignored", "weight_scale"), "init:W1"),
    NetMutant("scale-ignored", "dlfs", _D_W1, "0.01 * np.random.randn(input_size, hidden_size)",
              "init", ("standard deviation", "ignored", "weight_init_std"), "init:W1"),
    NetMutant("uniform-init", "dlfs", _D_W1,
              "weight_init_std * np.random.rand(input_size, hidden_size)",
              "init", ("np.random.rand", "positive"), "init:W1"),
    NetMutant("random-bias", "cs231n", 'self.params["b2"] = np.zeros(num_classes)',
              'self.params["b2"] = weight_scale * np.random.randn(num_classes)',
              "init", ("b2", "start at zero"), "init:biases"),
    NetMutant("reseeded", "dlfs", "self.params = {}",
              "np.random.seed(0)\n        self.params = {}",
              "init", ("different numpy seeds", "np.random.seed"), "init:seeds"),
    # ---------------------------------------------------------------- regularisation
    NetMutant("reg-missing-from-gradient", "cs231n", "x.T.dot(da1) + self.reg * W1",
              "x.T.dot(da1)", "gradient", ("regularisation term is missing", "reg * W1"),
              "gradient:W1"),
    NetMutant("reg-doubled-in-gradient", "cs231n", "h1.T.dot(dscores) + self.reg * W2",
              "h1.T.dot(dscores) + 2 * self.reg * W2", "gradient",
              ("2 * reg * W2 instead of reg * W2",), "gradient:W2"),
    NetMutant("reg-doubled-in-loss", "cs231n", "loss += 0.5 * self.reg",
              "loss += self.reg", "forward", ("regularisation term is 2 times",),
              "forward:loss"),
    NetMutant("reg-on-bias", "cs231n", 'grads["b2"] = dscores.sum(axis=0)',
              'grads["b2"] = dscores.sum(axis=0) + self.reg * b2', "gradient",
              ("biases are not regularised",), "gradient:b2"),
    # ---------------------------------------------------------------- wrong layer, stale
    NetMutant("wrong-layer", "cs231n", 'grads["b1"] = da1.sum(axis=0)',
              'grads["b1"] = dscores.sum(axis=0)', "gradient",
              ("gradient of b2", "wrong layer"), "gradient:b1"),
    NetMutant("wrong-layer", "dlfs", "grads['W2'] = self.layers['Affine2'].dW",
              "grads['W2'] = self.layers['Affine1'].dW", "gradient",
              ("gradient of W1", "wrong layer"), "gradient:W2"),
    NetMutant("stale-bias", "cs231n", 'grads["b1"] = da1.sum(axis=0)',
              'if not hasattr(self, "_db1"):\n'
              '            self._db1 = da1.sum(axis=0)\n'
              '        grads["b1"] = self._db1', "gradient", ("stale", "previous"),
              "gradient:b1"),
    NetMutant("stale-bias", "dlfs", "self.db = np.sum(dout, axis=0)",
              "if self.db is None:\n"
              "            self.db = np.sum(dout, axis=0)", "gradient", ("stale", "previous"),
              "gradient:b1"),
    NetMutant("accumulating-gradient", "dlfs", "self.dW = np.dot(self.x.T, dout)",
              "self.dW = np.dot(self.x.T, dout) + (self.dW if self.dW is not None else 0)",
              "gradient", ("accumulates",), "gradient:W1"),
    NetMutant("bias-never-updated", "dlfs", "self.db = np.sum(dout, axis=0)",
              "self.db = np.zeros_like(self.b)", "gradient", ("never", "all zeros"),
              "gradient:b1"),
    # ---------------------------------------------------------------- symmetry, sharing
    NetMutant("unit-skipped-in-backward", "cs231n", 'grads["b1"] = da1.sum(axis=0)',
              'grads["b1"] = np.append(da1[:, :-1].sum(axis=0), 0.0)', "symmetry",
              ("differs between hidden units", "indexing bug"), "symmetry:equal-units"),
    NetMutant("unit-skipped-in-backward", "dlfs", "self.db = np.sum(dout, axis=0)",
              "self.db = np.append(np.sum(dout[:, :-1], axis=0), 0.0)", "gradient",
              ("right for some hidden units", "indexing bug"), "gradient:b1"),
    NetMutant("params-copied", "dlfs",
              "Affine(self.params['W1'], self.params['b1'])",
              "Affine(self.params['W1'].copy(), self.params['b1'].copy())", "state",
              ("net.params['w1']", "copy", "in-place"), "state:shared-params"),
    NetMutant("params-copied", "dlfs",
              "Affine(self.params['W2'], self.params['b2'])",
              "Affine(np.array(self.params['W2']), self.params['b2'])", "state",
              ("net.params['w2']", "copy"), "state:shared-params"),
]


def _write(tmp_path, profile: str, find: str | None = None, replace: str = "") -> str:
    src = NETS[profile]
    if find is not None:
        assert src.count(find) == 1, f"{find!r} must occur exactly once"
        src = src.replace(find, replace)
    path = tmp_path / f"net_{profile}.py"
    path.write_text(src)
    return str(path)


def _check(path: str, profile: str, seed: int = 0):
    r = check_submission(path, profile=profile, layers=[LAYER], seed=seed, isolation="none")
    gradcheck.validate(r.to_dict())
    lr = r.layer(LAYER)
    assert lr is not None
    return r, lr


def _explain(lr) -> str:
    return "\n".join(f"{c.kind} {c.name} {c.status} [{c.config}] {c.message}" for c in lr.checks)


# -------------------------------------------------------------------------- correct nets
SEEDS = range(20)


@pytest.mark.parametrize("profile", ["cs231n", "dlfs"])
def test_own_correct_net_passes_many_seeds(tmp_path, profile):
    path = _write(tmp_path, profile)
    for seed in SEEDS:
        r, lr = _check(path, profile, seed)
        assert lr.status == "pass", f"seed {seed}:\n{_explain(lr)}"
        assert r.status == "pass" and r.exit_code == 0
        assert not [c for c in lr.checks if c.status in ("fail", "error", "warn")]


@pytest.mark.parametrize("profile", ["cs231n", "dlfs"])
def test_reference_net_passes_many_seeds(profile):
    for seed in SEEDS:
        _, lr = _check(reference_path(profile), profile, seed)
        assert lr.status == "pass", f"seed {seed}:\n{_explain(lr)}"


@pytest.mark.parametrize("profile", ["cs231n", "dlfs"])
def test_battery_covers_every_kind_and_parameter(tmp_path, profile):
    _, lr = _check(_write(tmp_path, profile), profile)
    kinds = {c.kind for c in lr.checks}
    want = {"signature", "init", "symmetry", "gradient", "forward"}
    if profile == "dlfs":
        want.add("state")
    assert want <= kinds
    grads = {(c.input, c.config) for c in lr.checks if c.kind == "gradient"}
    for k in ("W1", "b1", "W2", "b2"):
        name = (f"grads[{k!r}]")
        assert (name, "default") in grads
        if profile == "cs231n":
            assert (name, "reg = 0.7") in grads
    for c in lr.checks:
        if c.kind == "gradient":
            assert c.error is not None and c.tolerance is not None and c.error <= c.tolerance


@pytest.mark.parametrize("profile", ["cs231n", "dlfs"])
def test_zero_init_is_information_not_failure(tmp_path, profile):
    _, lr = _check(_write(tmp_path, profile), profile)
    (zero,) = [c for c in lr.checks if c.name == "symmetry:zero-init"]
    assert zero.status == "pass"
    assert "for information" in zero.message and "only b2 moves" in zero.message
    (sym,) = [c for c in lr.checks if c.name == "symmetry:equal-units"]
    assert sym.status == "pass" and "same gradient" in sym.message


def test_init_tolerance_follows_sample_size(tmp_path):
    """The accepted spread is a chi-square bound: it is reported and shrinks with n."""
    _, lr = _check(_write(tmp_path, "cs231n"), "cs231n")
    w1 = next(c for c in lr.checks if c.name == "init:W1")
    w2 = next(c for c in lr.checks if c.name == "init:W2")
    assert w1.details["samples"] > w2.details["samples"]
    assert w1.tolerance < w2.tolerance
    lo, hi = w1.details["std_bounds"]
    assert lo < 0.05 < hi and hi - lo < 0.01


# ------------------------------------------------------------------------------ mutants
@pytest.mark.parametrize("m", MUTANTS, ids=[f"{m.profile}-{m.id}" for m in MUTANTS])
def test_mutant_is_caught(tmp_path, m):
    path = _write(tmp_path, m.profile, m.find, m.replace)
    r, lr = _check(path, m.profile)
    assert lr.status == "fail", _explain(lr)
    assert r.exit_code == 1
    failing = [c for c in lr.checks if c.status == "fail" and c.kind == m.kind
               and c.name.startswith(m.name)]
    assert failing, f"no failing {m.kind} check {m.name}:\n{_explain(lr)}"
    text = " ".join(c.message for c in failing).lower()
    for word in m.words:
        assert word.lower() in text, f"{word!r} not in: {text}"
    assert not [c for c in lr.checks if c.status == "error"], _explain(lr)


def test_unshared_params_skip_checks_that_set_them(tmp_path):
    path = _write(tmp_path, "dlfs", "Affine(self.params['W1'], self.params['b1'])",
                  "Affine(self.params['W1'].copy(), self.params['b1'].copy())")
    _, lr = _check(path, "dlfs")
    skipped = [c for c in lr.checks if c.status == "skip"]
    assert {c.kind for c in skipped} >= {"gradient", "symmetry"}
    assert all("net.params" in c.message for c in skipped)


def test_gradient_failure_names_the_compared_parameter(tmp_path):
    path = _write(tmp_path, "cs231n", "x.T.dot(da1) + self.reg * W1", "x.T.dot(da1)")
    _, lr = _check(path, "cs231n")
    bad = [c for c in lr.checks if c.kind == "gradient" and c.status == "fail"]
    # only the configurations with reg > 0 fail, and only W1
    assert {c.config for c in bad} == {"reg = 0.7", "image-shaped input (N, 2, 3)"}
    for c in bad:
        assert c.input == "grads['W1']" and c.error > c.tolerance
        assert c.details["hints"][0]["id"] == "reg-missing"
