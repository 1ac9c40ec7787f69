"""Benchmark functions, their hand-written gradients and their inputs.

Each function is plain Python/NumPy as a user would write it (no srcad code
inside). Each ``*_grad`` is the gradient a careful person writes by hand, in
reverse mode, returning one gradient per differentiated argument.

``python benchmarks/cases.py`` checks every hand-written gradient against
autograd (when installed) and against central finite differences along a few
random directions (always).
"""

import math

import numpy as np


# --------------------------------------------------------------------------
# scalar40: a loop-free scalar function of about 40 operations on 2 floats.
# It is also the ~40-line function whose derivative build time is measured.
# --------------------------------------------------------------------------
def scalar40(x: float, y: float):
    a = x * y
    b = x + y
    c = a / b
    d = math.sin(c)
    e = x - y
    f = math.cos(e)
    g = d * f
    h = g + c
    k = 0.5 * h
    m = math.exp(k)
    n = x**2
    p = 1.0 + n
    q = math.log(p)
    r = y**2
    s = r + 1.0
    t = math.sqrt(s)
    u = m / t
    v = q * x
    w = u - v
    z = w**2
    aa = z + b
    bb = math.sin(aa)
    cc = math.cos(a)
    dd = bb * cc
    ee = 1.0 + q
    ff = c / ee
    gg = dd - ff
    hh = gg * gg
    ii = 0.1 * hh
    jj = math.exp(ii)
    kk = jj * t
    ll = kk + w
    mm = ll * ll
    nn = mm + 1.0
    oo = math.log(nn)
    pp = oo * y
    qq = gg / m
    rr = pp - qq
    ss = rr * rr
    tt = ss + 2.0
    uu = math.sqrt(tt)
    vv = aa * 0.25
    ww = uu + vv
    return ww - jj


def scalar40_grad(x, y):
    # forward sweep
    a = x * y
    b = x + y
    c = a / b
    d = math.sin(c)
    e = x - y
    f = math.cos(e)
    g = d * f
    h = g + c
    m = math.exp(0.5 * h)
    p = 1.0 + x**2
    q = math.log(p)
    t = math.sqrt(y**2 + 1.0)
    u = m / t
    w = u - q * x
    aa = w**2 + b
    bb = math.sin(aa)
    cc = math.cos(a)
    ee = 1.0 + q
    ff = c / ee
    gg = bb * cc - ff
    jj = math.exp(0.1 * gg * gg)
    ll = jj * t + w
    nn = ll * ll + 1.0
    oo = math.log(nn)
    qq = gg / m
    rr = oo * y - qq
    uu = math.sqrt(rr * rr + 2.0)
    # reverse sweep: ww = uu + 0.25 * aa, result = ww - jj
    rr_b = rr / uu
    y_b = rr_b * oo
    gg_b = -rr_b / m
    m_b = rr_b * qq / m
    ll_b = 2.0 * ll * (rr_b * y / nn)
    w_b = ll_b
    t_b = ll_b * jj
    jj_b = ll_b * t - 1.0
    gg_b += 0.2 * gg * jj_b * jj
    ff_b = -gg_b
    c_b = ff_b / ee
    q_b = -ff_b * ff / ee
    a_b = -gg_b * bb * math.sin(a)
    aa_b = gg_b * cc * math.cos(aa) + 0.25
    b_b = aa_b
    w_b += 2.0 * w * aa_b
    q_b -= w_b * x
    x_b = -w_b * q
    m_b += w_b / t
    t_b -= w_b * u / t
    y_b += t_b * y / t
    x_b += 2.0 * x * q_b / p
    h_b = 0.5 * m_b * m
    c_b += h_b
    f_b = h_b * d
    c_b += h_b * f * math.cos(c)
    e_b = -f_b * math.sin(e)
    x_b += e_b
    y_b -= e_b
    a_b += c_b / b
    b_b -= c_b * c / b
    x_b += b_b + a_b * y
    y_b += b_b + a_b * x
    return x_b, y_b


# --------------------------------------------------------------------------
# mlp: 784 -> 512 (tanh) -> 10, softmax cross-entropy (log-sum-exp form),
# averaged over the batch. The max is an ordinary np.max: the gradient of
# lse - z does not depend on m, so differentiating through it is exact.
# --------------------------------------------------------------------------
def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return np.mean(np.sum(Y * (lse - z), axis=1, keepdims=True))


def mlp_grad(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    dz = (p - Y) / X.shape[0]  # Y is one-hot: each row sums to 1
    dh = dz @ W2.T
    da = dh * (1.0 - h * h)
    return X.T @ da, np.sum(da, axis=0), h.T @ dz, np.sum(dz, axis=0)


# --------------------------------------------------------------------------
# scalar_loop: 1000 steps of a contracting scalar recurrence
# (|dx_new/dx| <= a + b/2 = 0.7 at the inputs used), so values and
# gradients stay bounded.
# --------------------------------------------------------------------------
def scalar_loop(a, b):
    x = 0.5
    for i in range(1000):
        x = a * math.sin(x) + b * x * 0.5 + 0.1
    return x


def scalar_loop_grad(a, b):
    x = 0.5
    xs = []
    for i in range(1000):
        xs.append(x)
        x = a * math.sin(x) + b * x * 0.5 + 0.1
    a_b = 0.0
    b_b = 0.0
    x_b = 1.0
    for x in reversed(xs):
        a_b += x_b * math.sin(x)
        b_b += x_b * x * 0.5
        x_b *= a * math.cos(x) + b * 0.5
    return a_b, b_b


# --------------------------------------------------------------------------
# rnn: tanh RNN, T=50, batch 32, input 64, hidden 128; squared loss on the
# final hidden state only.
# --------------------------------------------------------------------------
def rnn(Wx, Wh, b, xs, h0, target):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum((h - target) ** 2)


def rnn_grad(Wx, Wh, b, xs, h0, target):
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(xs[t] @ Wx + hs[-1] @ Wh + b))
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros_like(b)
    dh = 2.0 * (hs[-1] - target)
    for t in range(xs.shape[0] - 1, -1, -1):
        h = hs[t + 1]
        da = dh * (1.0 - h * h)
        dWx += xs[t].T @ da
        dWh += hs[t].T @ da
        db += np.sum(da, axis=0)
        dh = da @ Wh.T
    return dWx, dWh, db


# --------------------------------------------------------------------------
# rosenbrock: n = 100,000.
# --------------------------------------------------------------------------
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    xa = x[:-1]
    t = x[1:] - xa * xa
    g = np.zeros_like(x)
    g[:-1] = -400.0 * t * xa - 2.0 * (1.0 - xa)
    g[1:] += 200.0 * t
    return (g,)


# --------------------------------------------------------------------------
# small_array: ~20 elementwise operations on two 10-element arrays.
# --------------------------------------------------------------------------
def small_array(x, y):
    a = np.sin(x) * y
    b = np.exp(0.5 * x) + a
    c = np.tanh(b - y)
    d = np.sqrt(x * x + y * y)
    e = np.log(1.0 + d)
    f = c * e / (1.0 + y * y)
    g = np.cos(f) + x * 0.3
    h = g * g + np.tanh(a)
    return np.sum(h * e - f)


def small_array_grad(x, y):
    # forward sweep
    sx = np.sin(x)
    a = sx * y
    ex = np.exp(0.5 * x)
    c = np.tanh(ex + a - y)
    d = np.sqrt(x * x + y * y)
    e = np.log(1.0 + d)
    q = 1.0 + y * y
    f = c * e / q
    g = np.cos(f) + x * 0.3
    ta = np.tanh(a)
    h = g * g + ta
    # reverse sweep: result = sum(h * e - f)
    g_b = 2.0 * g * e
    f_b = -g_b * np.sin(f) - 1.0
    c_b = f_b * e / q
    e_b = h + f_b * c / q
    d_b = e_b / (1.0 + d)
    a_b = (1.0 - ta * ta) * e
    b_b = c_b * (1.0 - c * c)
    a_b += b_b
    x_b = g_b * 0.3 + d_b * x / d + b_b * 0.5 * ex + a_b * y * np.cos(x)
    y_b = d_b * y / d - b_b + a_b * sx - 2.0 * y * f_b * f / q
    return x_b, y_b


# --------------------------------------------------------------------------
# Inputs (float64, fixed seed).
# --------------------------------------------------------------------------
def make_inputs(name, seed=0):
    rng = np.random.default_rng(seed)
    if name == "scalar40":
        return (0.7, 1.3)
    if name == "scalar_loop":
        return (0.5, 0.4)
    if name == "mlp":
        batch, n_in, n_hid, n_out = 256, 784, 512, 10
        X = rng.standard_normal((batch, n_in))
        Y = np.eye(n_out)[rng.integers(0, n_out, batch)]
        W1 = rng.standard_normal((n_in, n_hid)) / math.sqrt(n_in)
        W2 = rng.standard_normal((n_hid, n_out)) / math.sqrt(n_hid)
        return (W1, 0.1 * rng.standard_normal(n_hid), W2, 0.1 * rng.standard_normal(n_out), X, Y)
    if name == "rnn":
        steps, batch, n_in, n_hid = 50, 32, 64, 128
        Wx = rng.standard_normal((n_in, n_hid)) / math.sqrt(n_in)
        Wh = rng.standard_normal((n_hid, n_hid)) / math.sqrt(n_hid)
        b = 0.1 * rng.standard_normal(n_hid)
        xs = rng.standard_normal((steps, batch, n_in))
        h0 = np.zeros((batch, n_hid))
        target = 0.5 * rng.standard_normal((batch, n_hid))
        return (Wx, Wh, b, xs, h0, target)
    if name == "rosenbrock":
        return (rng.uniform(-1.5, 1.5, 100_000),)
    if name == "small_array":
        return (rng.uniform(0.5, 1.5, 10), rng.uniform(0.5, 1.5, 10))
    raise KeyError(name)


# name -> (function, hand-written gradient, wrt)
CASES = {
    "scalar40": (scalar40, scalar40_grad, (0, 1)),
    "mlp": (mlp, mlp_grad, (0, 1, 2, 3)),
    "scalar_loop": (scalar_loop, scalar_loop_grad, (0, 1)),
    "rnn": (rnn, rnn_grad, (0, 1, 2)),
    "rosenbrock": (rosenbrock, rosenbrock_grad, (0,)),
    "small_array": (small_array, small_array_grad, (0, 1)),
}


# --------------------------------------------------------------------------
# Self-check of the hand-written gradients.
# --------------------------------------------------------------------------
def _directional_fd(f, args, wrt, direction, eps=1e-6):
    def shifted(sign):
        moved = list(args)
        for i, v in zip(wrt, direction):
            moved[i] = args[i] + sign * eps * v
        return f(*moved)

    return (shifted(1.0) - shifted(-1.0)) / (2.0 * eps)


def selfcheck():
    """Compare every hand-written gradient with autograd and finite differences."""
    from peers import autograd_grad

    failures = 0
    rng = np.random.default_rng(1)
    for name, (f, hand, wrt) in CASES.items():
        args = make_inputs(name)
        grads = hand(*args)
        assert len(grads) == len(wrt), name
        for i, g in zip(wrt, grads):
            assert np.shape(g) == np.shape(args[i]), (name, i)
        worst = 0.0  # finite differences along random directions
        for _ in range(3):
            direction = [rng.standard_normal(np.shape(args[i])) for i in wrt]
            direction = [float(v) if np.ndim(v) == 0 else v for v in direction]
            fd = _directional_fd(f, args, wrt, direction)
            exact = sum(float(np.sum(g * v)) for g, v in zip(grads, direction))
            worst = max(worst, abs(fd - exact) / max(1.0, abs(exact)))
        ok_fd = worst < 1e-6
        line = f"{name:12s} finite differences: rel err {worst:.1e} {'ok' if ok_fd else 'FAIL'}"
        try:
            ref = autograd_grad(f, wrt)(*args)
        except ImportError:
            ok_ag = True
            line += "; autograd: not installed"
        else:
            ok_ag = all(np.allclose(g, r, rtol=1e-10, atol=1e-12) for g, r in zip(grads, ref))
            line += f"; autograd: {'ok' if ok_ag else 'FAIL'}"
        failures += not (ok_fd and ok_ag)
        print(line)
    return failures


if __name__ == "__main__":
    raise SystemExit(1 if selfcheck() else 0)
