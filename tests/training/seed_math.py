"""The seed's training step in NumPy (float64): the independent check of both TensorFlow steps.

A tiny network (3 inputs, 4 hidden units, 2 classes) with a fixed state and batch.
"""

from __future__ import annotations

import numpy as np

RNG = np.random.default_rng(42)
STATE = {
    "weights1": RNG.normal(0, 0.5, (3, 4)).astype(np.float32),
    "biases1": np.array([0.1, -0.2, 0.3, 0.0], np.float32),
    "weights2": RNG.normal(0, 0.5, (4, 2)).astype(np.float32),
    "biases2": np.array([0.05, -0.05], np.float32),
}
STATE.update({f"average_{k}": v * 0.5 for k, v in list(STATE.items())})
STATE["global_step"] = np.asarray(7, np.int64)
X = np.array([[1.0, -2.0, 0.5], [0.3, 0.8, -1.0], [2.0, 0.1, 0.4]], np.float32)
LABELS = np.array([1, 0, 1], np.int32)
REG = 0.01


def numpy_step(state, lr, decay, x=X):
    """One SGD step at rate ``lr`` on the whole of ``x``, then the moving averages with
    ``decay``; the batch's cross-entropy and the new state (gradients written out)."""
    s = {k: v.astype(np.float64) for k, v in state.items()}
    pre = x @ s["weights1"] + s["biases1"]
    hidden = np.maximum(pre, 0)
    logits = hidden @ s["weights2"] + s["biases2"]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    cross_entropy = -np.log(p[np.arange(len(x)), LABELS]).mean()
    d_logits = p.copy()
    d_logits[np.arange(len(x)), LABELS] -= 1
    d_logits /= len(x)
    grads = {
        "weights2": hidden.T @ d_logits + REG * s["weights2"],
        "biases2": d_logits.sum(0),
    }
    d_pre = (d_logits @ s["weights2"].T) * (pre > 0)
    grads["weights1"] = x.T @ d_pre + REG * s["weights1"]
    grads["biases1"] = d_pre.sum(0)
    new = {}
    for name in ("weights1", "biases1", "weights2", "biases2"):
        new[name] = s[name] - lr * grads[name]
        shadow = s[f"average_{name}"]
        new[f"average_{name}"] = shadow - (1 - decay) * (shadow - new[name])
    return cross_entropy, new


def penalty(state, rate=REG):
    """``rate`` x (sum(W1**2) + sum(W2**2)) / 2: TF1's ``l2_regularizer``."""
    return rate * ((state["weights1"] ** 2).sum() + (state["weights2"] ** 2).sum()) / 2


def set_state(model, state) -> None:
    """Set every variable of an averaged network from a ``state()``-style mapping."""
    for name, weight in zip(model.weight_names, model.weights, strict=True):
        weight.assign(state[name])
    for name, average in zip(model.weight_names, model.averages, strict=True):
        average.assign(state[f"average_{name}"])
    model.global_step.assign(int(state["global_step"]))
