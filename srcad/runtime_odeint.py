"""The runtime of scipy.integrate.odeint's derivatives (srcad/rules/scipy_integrate.py):
the adjoint method backwards (as HIPS autograd does) and the sensitivity equations
forwards, each an augmented ODE solved with odeint, over the reverse and forward
derivatives srcad builds of the user's dynamics. Imports SciPy when called."""
from __future__ import annotations

import numpy as np

__all__ = ["odeint_call", "odeint_vjp", "odeint_jvp"]


class Dynamics:
    """The user's dynamics `func(y, t, *args)` (`func(t, y, *args)` with tfirst) as the
    function value srcad knows: `obj` called with what the value captures, `captured` (a
    partial's `npre` arguments first, then a nested def's outer variables, which go after
    its `nown` own parameters, those not given taking `defaults`)."""

    def __init__(self, obj, npre: int, nown: int, defaults: tuple, nextras: int,
                 tfirst: bool, label: str, site: tuple):
        self.obj, self.npre, self.nown, self.defaults = obj, npre, nown, defaults
        self.nextras, self.tfirst, self.label = nextras, tfirst, label
        self.site = site              # (filename, line) of the odeint call, for messages

    def full(self, y, t, args, captured) -> tuple:
        """(obj's arguments, the position of y, of t, of args[0], of captured[npre])."""
        head = list(captured[:self.npre])
        yt = [t, y] if self.tfirst else [y, t]
        own = head + yt + list(args)
        if self.nextras:
            while len(own) < self.nown:
                own.append(self.defaults[len(own) - (self.nown - len(self.defaults))])
        iy = self.npre + int(self.tfirst)
        it = self.npre + 1 - int(self.tfirst)
        return own + list(captured[self.npre:]), iy, it, self.npre + 2, len(own)

    def __call__(self, y, t, args, captured):
        return self.obj(*self.full(y, t, args, captured)[0])

    def __repr__(self):
        return f"dynamics({self.label})"


def _odeint(dyn, y0, t, args, captured, opts):
    import scipy.integrate
    f = (lambda t_, y: dyn(y, t_, args, captured)) if dyn.tfirst else \
        (lambda y, t_: dyn(y, t_, args, captured))
    return scipy.integrate.odeint(f, y0, t, tfirst=dyn.tfirst, **opts)


def _opts(rtol, atol, mxstep, hmax, h0, hmin, tcrit) -> dict:
    return dict(rtol=rtol, atol=atol, mxstep=mxstep, hmax=hmax, h0=h0, hmin=hmin, tcrit=tcrit)


def odeint_call(dyn, y0, t, args, captured, rtol=None, atol=None, mxstep=0, hmax=0.0, h0=0.0,
                hmin=0.0, tcrit=None):
    """scipy.integrate.odeint(func, y0, t, args) with func the Dynamics `dyn`."""
    return _odeint(dyn, y0, t, args, captured, _opts(rtol, atol, mxstep, hmax, h0, hmin, tcrit))


def _is_float(a) -> bool:
    return isinstance(a, float) or isinstance(a, (np.ndarray, np.floating)) and \
        np.asarray(a).dtype.kind == "f"


def _derivative(dyn, mode, full, positions):
    """srcad's derivative of the user's function at the arguments `full`, for `positions`."""
    from . import api, pipeline
    full, kinds = api._prepare(tuple(full), positions)
    return api._func(pipeline.get(dyn.obj, mode, positions, kinds, False,
                                  with_value=mode == "reverse"))


def _params(dyn, args, captured):
    """[(position in obj's arguments, which tuple: 0 args / 1 captured, index)] of the float
    parameters the dynamics is differentiated in besides y."""
    _, _, _, ia, ic = dyn.full(None, None, args, captured)
    out = [(ia + k, 0, k) for k, a in enumerate(args) if _is_float(a)]
    out += [(k if k < dyn.npre else ic + k - dyn.npre, 1, k)
            for k, a in enumerate(captured) if _is_float(a)]
    return out


def odeint_vjp(g, out, dyn, y0, t, args, captured, rtol=None, atol=None, mxstep=0, hmax=0.0,
               h0=0.0, hmin=0.0, tcrit=None):
    """The adjoints (y0, t, args, captured) of out = odeint(dyn, y0, t, args) for the
    cotangent `g`, by the adjoint method: from each time back to the one before, y is
    solved backwards with the adjoint a' = -a f_y and the parameters' adjoints p' = -a f_p
    (one VJP of the dynamics per step, srcad's reverse derivative of it); t's adjoint is
    g_i . f(y_i, t_i) at each later time and -a(t_0) . f(y_0, t_0) at the first."""
    opts = _opts(rtol, atol, mxstep, hmax, h0, hmin, tcrit)
    g = np.broadcast_to(np.asarray(g, dtype=float), np.shape(out))   # (0.0: no adjoint)
    tt = np.asarray(t, dtype=float)
    n, d = out.shape
    params = _params(dyn, args, captured)
    full, iy, it, _, _ = dyn.full(out[0], tt[0], args, captured)
    positions = (iy,) + tuple(p for p, _, _ in params)
    df = _derivative(dyn, "reverse", full, positions)
    shapes = [np.shape(_item(args, captured, w, k)) for _, w, k in params]
    sizes = [int(np.prod(shape)) for shape in shapes]
    npar = sum(sizes)

    def f_and_vjp(y, s, cot):
        full = dyn.full(y, s, args, captured)[0]
        value, grads = df(*full, cot)
        return value, grads

    def augmented(state, s):
        y, a = state[:d], state[d:2 * d]
        value, grads = f_and_vjp(y, s, -a)
        return np.concatenate([_flat(value, (d,)), _flat(grads[0], (d,))] +
                              [_flat(gp, shape) for gp, shape in zip(grads[1:], shapes)])

    import scipy.integrate
    a = np.zeros(d)
    pbar = np.zeros(npar)
    tbar = np.zeros(n)
    for i in range(n - 1, 0, -1):
        fi = np.ravel(dyn(out[i], tt[i], args, captured))
        tbar[i] = fi @ g[i]
        a = a + g[i]
        state = np.concatenate([out[i], a, pbar])
        state = scipy.integrate.odeint(augmented, state, np.array([tt[i], tt[i - 1]]),
                                       **opts)[1]
        a, pbar = state[d:2 * d], state[2 * d:]
    tbar[0] = -(np.ravel(dyn(out[0], tt[0], args, captured)) @ a)
    y0_bar = a + g[0]
    args_bar = [0.0] * len(args)
    cap_bar = [0.0] * len(captured)
    at = 0
    for (_, which, k), size in zip(params, sizes):
        like = _item(args, captured, which, k)
        value = _like(pbar[at:at + size], like)
        at += size
        (args_bar if which == 0 else cap_bar)[k] = value
    return (_like(y0_bar, y0), _like(tbar, t), tuple(args_bar), tuple(cap_bar))


def _flat(v, shape):
    """A derivative's value (0.0 where it is zero) as a flat float array of `shape`'s size."""
    return np.ravel(np.broadcast_to(np.asarray(v, dtype=float), shape))


def _item(args, captured, which, k):
    return (args if which == 0 else captured)[k]


def _like(v, like):
    """`v` shaped (and typed, for a float array) like `like`: a Python float for a number."""
    if isinstance(like, np.ndarray):
        dt = like.dtype if like.dtype.kind == "f" else float
        return np.asarray(v, dtype=dt).reshape(like.shape)
    if isinstance(like, (list, tuple)):
        return np.reshape(v, np.shape(like))
    return float(np.reshape(v, ()))


def _tangent(t, like):
    """A tangent as an array shaped like `like` (0.0 stands for no tangent)."""
    if isinstance(t, float) and t == 0.0 and np.ndim(like):
        return np.zeros(np.shape(like))
    return np.asarray(t, dtype=float).reshape(np.shape(like))


def odeint_jvp(dyn, out, y0, t, args, captured, y0_dot, t_dot, args_dot, captured_dot,
               rtol=None, atol=None, mxstep=0, hmax=0.0, h0=0.0, hmin=0.0, tcrit=None):
    """The tangent of out = odeint(dyn, y0, t, args) by the sensitivity equations: y and
    its sensitivity s solved together forwards, s' = f_y s + f_p p_dot (one JVP of the
    dynamics per step, srcad's forward derivative of it), s(t_0) = y0_dot - f(y0, t0) t0_dot;
    out_dot_i = s(t_i) + f(y_i, t_i) t_dot_i."""
    opts = _opts(rtol, atol, mxstep, hmax, h0, hmin, tcrit)
    tt = np.asarray(t, dtype=float)
    n, d = out.shape
    params = _params(dyn, args, captured)
    full, iy, it, _, _ = dyn.full(out[0], tt[0], args, captured)
    positions = (iy,) + tuple(p for p, _, _ in params)
    df = _derivative(dyn, "forward", full, positions)

    def ptangent(which, k):
        dots = args_dot if which == 0 else captured_dot
        like = _item(args, captured, which, k)
        item = 0.0 if isinstance(dots, float) else dots[k]
        return _tangent(item, like) if np.ndim(like) else float(item)
    pdots = [ptangent(w, k) for _, w, k in params]

    def augmented(state, s):
        y, sy = state[:d], state[d:]
        full = dyn.full(y, s, args, captured)[0]
        value, value_dot = df(*full, sy, *pdots)
        return np.concatenate([_flat(value, (d,)), _flat(value_dot, (d,))])

    import scipy.integrate
    s0 = np.ravel(_tangent(y0_dot, np.ravel(y0)))
    tdot = None if isinstance(t_dot, float) and t_dot == 0.0 else \
        np.asarray(t_dot, dtype=float).reshape(tt.shape)
    if tdot is not None:
        s0 = s0 - np.ravel(dyn(out[0], tt[0], args, captured)) * tdot[0]
    sol = scipy.integrate.odeint(augmented, np.concatenate([out[0], s0]), tt, **opts)
    out_dot = sol[:, d:]
    if tdot is not None:
        out_dot = out_dot + np.array([np.ravel(dyn(out[i], tt[i], args, captured)) * tdot[i]
                                      for i in range(n)])
    return out_dot
