"""The runtime of scipy.integrate.odeint's derivatives (srcad/rules/scipy_integrate.py):
the adjoint method backwards (as HIPS autograd does) and the sensitivity equations
forwards, each an augmented ODE solved with odeint, over the reverse and forward
derivatives srcad builds of the user's dynamics. Imports SciPy when called."""
from __future__ import annotations

import numpy as np

__all__ = ["odeint_call", "odeint_vjp", "odeint_jvp", "odeint_vjp_jvp", "odeint_jvp_jvp",
           "odeint_vjp_vjp"]


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


# ------------------------------------------------------------ second derivatives
# Forward mode over odeint's derivatives: each augmented ODE odeint_vjp and odeint_jvp solve
# (the adjoint system backwards, the sensitivity system forwards) is written as a function
# srcad reads (its text generated per dynamics layout, calling the dynamics and srcad's
# derivative of it as srcad.vjp and srcad.jvp do inside a differentiated function), so its
# own tangent is odeint_jvp of that augmented system: srcad's forward derivative of the
# generated function, i.e. of the dynamics' VJP or JVP (forward over reverse, forward over
# forward).

_AUGMENTED: dict = {}


def _augmented(dyn, kind: str, full, iy: int, it: int, floats: tuple, d: int, sizes: tuple):
    """The Dynamics of the augmented system `kind` ("adjoint": state (y, a, p_bar), rhs
    (f, -a f_y, -a f_p); "sensitivity": state (y, s), rhs (f, f_y s + f_p p_dot)) for
    `dyn` at arguments laid out as `full` (y at iy, t at it, the float parameters at
    `floats`, of `sizes` entries). Its arguments: full's others in order (then, for
    "sensitivity", the float parameters' tangents)."""
    from . import api, frontend
    others = [j for j in range(len(full)) if j not in (iy, it)]
    key = (dyn, kind, len(full), iy, it, floats, d, sizes)
    if key in _AUGMENTED:
        return _AUGMENTED[key], others
    names = {iy: "y", it: "s"}
    names.update({j: f"q{j}" for j in others})
    call = ", ".join(names[j] for j in range(len(full)))
    params = ", ".join(names[j] for j in others)
    positions = (iy,) + floats
    if kind == "adjoint":
        head = f"def odeint_adjoint_rhs(state, s{', ' + params if params else ''}):\n"
        parts = [f"np.ravel(value) + np.zeros({d})", f"np.ravel(grads[0]) + np.zeros({d})"]
        parts += [f"np.ravel(grads[{k + 1}]) + np.zeros({n})" for k, n in enumerate(sizes)]
        body = (f"    y = state[:{d}]\n    a = state[{d}:{2 * d}]\n"
                f"    value = F({call})\n    grads = VJP({call}, -a)\n")
        derivative = api.vjp_transform(dyn.obj, positions, len(full))
    else:
        dots = ", ".join(f"p{k}_dot" for k in range(len(floats)))
        head = (f"def odeint_sensitivity_rhs(state, s{', ' + params if params else ''}"
                f"{', ' + dots if dots else ''}):\n")
        parts = [f"np.ravel(value) + np.zeros({d})", f"np.ravel(value_dot) + np.zeros({d})"]
        body = (f"    y = state[:{d}]\n    sy = state[{d}:]\n"
                f"    value, value_dot = JVP({call}, sy{', ' + dots if dots else ''})\n")
        derivative = api.jvp_transform(dyn.obj, positions, len(full))
    text = head + body + f"    return np.concatenate([{', '.join(parts)}])\n"
    namespace = {"np": np, "F": dyn.obj, "VJP": derivative, "JVP": derivative}
    filename = f"<srcad odeint {kind} of {dyn.label}>"
    exec(compile(text, filename, "exec"), namespace)
    func = namespace[head[4:head.index("(")]]
    frontend.GENERATED[func.__code__] = text
    nq = len(others) + (len(floats) if kind == "sensitivity" else 0)
    aug = Dynamics(func, 0, 2 + nq, (), 0, False, f"{kind} of {dyn.label}", dyn.site)
    _AUGMENTED[key] = aug
    return aug, others


def _zero_or(t, like):
    """A tangent as a float array shaped like `like` (0.0: none)."""
    return _tangent(t, like) if np.ndim(like) else float(t)


def _param_dots(params, args, captured, args_dot, captured_dot):
    """The tangents of the float parameters `params` (see _params), 0.0 where none."""
    out = []
    for _, which, k in params:
        dots = args_dot if which == 0 else captured_dot
        item = 0.0 if isinstance(dots, float) else dots[k]
        out.append(_zero_or(item, _item(args, captured, which, k)))
    return out


def _dyn_jvp(dyn, full, iy, it, floats):
    """f(y, t, p) and its tangent along (y_dot, t_dot, p_dots): `df(*full, y_dot, t_dot,
    *p_dots)`, srcad's forward derivative of the dynamics."""
    return _derivative(dyn, "forward", full, (iy, it) + floats)


def _adjoint_setup(dyn, sol, tt, args, captured):
    """What the derivatives of odeint_vjp share about the float parameters: (params, the
    dynamics' full argument list at the first point, y's and t's positions in it, the
    parameters' positions, shapes and flat sizes, and the sum of those sizes)."""
    params = _params(dyn, args, captured)
    full, iy, it, _, _ = dyn.full(sol[0], tt[0], args, captured)
    floats = tuple(p for p, _, _ in params)
    shapes = [np.shape(_item(args, captured, w, k)) for _, w, k in params]
    sizes = tuple(int(np.prod(shape)) for shape in shapes)
    return params, full, iy, it, floats, shapes, sizes, sum(sizes)


def odeint_vjp_jvp(g, sol, dyn, y0, t, args, captured, g_dot, sol_dot, y0_dot, t_dot,
                   args_dot, captured_dot, rtol=None, atol=None, mxstep=0, hmax=0.0, h0=0.0, hmin=0.0,
                   tcrit=None):
    """The tangent of odeint_vjp(g, sol, dyn, y0, t, args, captured) along (g_dot, sol_dot,
    t_dot, args_dot, captured_dot) (y0 gives only the result's shape: y0_dot is not read):
    its steps replayed with their tangents, each backward solve of the adjoint system
    differentiated by odeint_jvp of that system."""
    opts = dict(rtol=rtol, atol=atol, mxstep=mxstep, hmax=hmax, h0=h0, hmin=hmin, tcrit=tcrit)
    g = np.broadcast_to(np.asarray(g, dtype=float), np.shape(sol))
    g_dot = np.broadcast_to(np.asarray(g_dot, dtype=float), np.shape(sol))
    sol_dot = np.broadcast_to(np.asarray(sol_dot, dtype=float), np.shape(sol))
    tt = np.asarray(t, dtype=float)
    tt_dot = np.broadcast_to(np.asarray(t_dot, dtype=float), tt.shape)
    n, d = sol.shape
    params, full, iy, it, floats, shapes, sizes, npar = _adjoint_setup(dyn, sol, tt, args,
                                                                       captured)
    pdots = _param_dots(params, args, captured, args_dot, captured_dot)
    aug, others = _augmented(dyn, "adjoint", full, iy, it, floats, d, sizes)
    aug_args = tuple(full[j] for j in others)
    where = {p: k for k, p in enumerate(floats)}
    aug_dots = tuple(pdots[where[j]] if j in where else 0.0 for j in others)
    df = _dyn_jvp(dyn, full, iy, it, floats)

    def f_and_dot(i):
        value, value_dot = df(*dyn.full(sol[i], tt[i], args, captured)[0], sol_dot[i],
                              float(tt_dot[i]), *pdots)
        return np.ravel(value), _flat(value_dot, (d,))

    a, a_dot = np.zeros(d), np.zeros(d)
    pbar, pbar_dot = np.zeros(npar), np.zeros(npar)
    tbar_dot = np.zeros(n)
    for i in range(n - 1, 0, -1):
        fi, fi_dot = f_and_dot(i)
        tbar_dot[i] = fi_dot @ g[i] + fi @ g_dot[i]
        a, a_dot = a + g[i], a_dot + g_dot[i]
        state = np.concatenate([sol[i], a, pbar])
        state_dot = np.concatenate([sol_dot[i], a_dot, pbar_dot])
        pair = np.array([tt[i], tt[i - 1]])
        pair_dot = np.array([tt_dot[i], tt_dot[i - 1]])
        out2 = odeint_call(aug, state, pair, aug_args, (), **opts)
        out2_dot = odeint_jvp(aug, out2, state, pair, aug_args, (), state_dot, pair_dot,
                              aug_dots, 0.0, **opts)
        a, pbar = out2[1, d:2 * d], out2[1, 2 * d:]
        a_dot, pbar_dot = out2_dot[1, d:2 * d], out2_dot[1, 2 * d:]
    f0, f0_dot = f_and_dot(0)
    tbar_dot[0] = -(f0_dot @ a + f0 @ a_dot)
    args_bar = [0.0] * len(args)
    cap_bar = [0.0] * len(captured)
    at = 0
    for (_, which, k), size in zip(params, sizes):
        value = _like(pbar_dot[at:at + size], _item(args, captured, which, k))
        at += size
        (args_bar if which == 0 else cap_bar)[k] = value
    return (_like(a_dot + g_dot[0], y0), _like(tbar_dot, t), tuple(args_bar), tuple(cap_bar))


def odeint_jvp_jvp(dyn, sol, y0, t, args, captured, y0_dot, t_dot, args_dot, captured_dot,
                   sol_e, y0_e, t_e, args_e, captured_e, y0_dot_e, t_dot_e, args_dot_e,
                   captured_dot_e, rtol=None, atol=None, mxstep=0, hmax=0.0, h0=0.0, hmin=0.0,
                   tcrit=None):
    """The tangent of odeint_jvp(dyn, sol, y0, t, args, captured, y0_dot, t_dot, args_dot,
    captured_dot) along the `_e` tangents of its arguments: the sensitivity system (y, s)
    solved by odeint_jvp itself, s(t_0) = y0_dot - f(y0, t0) t0_dot, and out_dot_i =
    s(t_i) + f(y_i, t_i) t_dot_i differentiated term by term."""
    opts = dict(rtol=rtol, atol=atol, mxstep=mxstep, hmax=hmax, h0=h0, hmin=hmin, tcrit=tcrit)
    tt = np.asarray(t, dtype=float)
    n, d = sol.shape
    sol_e = np.broadcast_to(np.asarray(sol_e, dtype=float), sol.shape)
    tt_dot = np.broadcast_to(np.asarray(t_dot, dtype=float), tt.shape)
    tt_e = np.broadcast_to(np.asarray(t_e, dtype=float), tt.shape)
    tt_dot_e = np.broadcast_to(np.asarray(t_dot_e, dtype=float), tt.shape)
    params = _params(dyn, args, captured)
    full, iy, it, _, _ = dyn.full(sol[0], tt[0], args, captured)
    floats = tuple(p for p, _, _ in params)
    sizes = tuple(int(np.prod(np.shape(_item(args, captured, w, k)))) for _, w, k in params)
    pdots = _param_dots(params, args, captured, args_dot, captured_dot)
    pes = _param_dots(params, args, captured, args_e, captured_e)
    pdot_es = _param_dots(params, args, captured, args_dot_e, captured_dot_e)
    aug, others = _augmented(dyn, "sensitivity", full, iy, it, floats, d, sizes)
    where = {p: k for k, p in enumerate(floats)}
    aug_args = tuple(full[j] for j in others) + tuple(pdots)
    aug_es = tuple(pes[where[j]] if j in where else 0.0 for j in others) + tuple(pdot_es)
    df = _dyn_jvp(dyn, full, iy, it, floats)

    def f_and_e(i):
        value, value_e = df(*dyn.full(sol[i], tt[i], args, captured)[0], sol_e[i],
                            float(tt_e[i]), *pes)
        return np.ravel(value), _flat(value_e, (d,))

    f0, f0_e = f_and_e(0)
    s0 = np.ravel(_tangent(y0_dot, np.ravel(y0))) - f0 * tt_dot[0]
    s0_e = np.ravel(_tangent(y0_dot_e, np.ravel(y0))) - f0_e * tt_dot[0] - f0 * tt_dot_e[0]
    state = np.concatenate([sol[0], s0])
    state_e = np.concatenate([sol_e[0], s0_e])
    aug_sol = odeint_call(aug, state, tt, aug_args, (), **opts)
    aug_e = odeint_jvp(aug, aug_sol, state, tt, aug_args, (), state_e, tt_e, aug_es, 0.0,
                       **opts)
    out_e = aug_e[:, d:]
    for i in range(n):
        fi, fi_e = f_and_e(i)
        out_e[i] = out_e[i] + fi_e * tt_dot[i] + fi * tt_dot_e[i]
    return out_e


# Reverse mode over odeint's adjoint (a grad of a grad): odeint_vjp's steps replayed
# forwards to keep each backward solve's start and end, then run back, each solve of the
# adjoint system differentiated by odeint_vjp of that system (srcad's reverse derivative of
# the generated function: reverse over the dynamics' VJP), each f(y_i, t_i) . g_i term by
# the dynamics' own VJP.

def _part(ct, k):
    """Item k of the cotangent of a tuple (0.0, a zero of any structure, stays 0.0)."""
    return 0.0 if isinstance(ct, float) else ct[k]


def _dense(ct, shape):
    """A cotangent (0.0: none) as a float array of `shape`."""
    return np.broadcast_to(np.asarray(ct, dtype=float), shape).astype(float)


def odeint_vjp_vjp(ct, g, sol, dyn, y0, t, args, captured, rtol=None, atol=None,
                   mxstep=0, hmax=0.0, h0=0.0, hmin=0.0, tcrit=None):
    """The adjoints (g, sol, y0, t, args, captured) of odeint_vjp(g, sol, dyn, y0, t, args,
    captured) for its cotangent `ct` (item by item: y0's, t's, args', captured's
    adjoints); y0 gives only the result's shape (its adjoint is zero)."""
    opts = _opts(rtol, atol, mxstep, hmax, h0, hmin, tcrit)
    gb = np.broadcast_to(np.asarray(g, dtype=float), np.shape(sol))
    tt = np.asarray(t, dtype=float)
    n, d = sol.shape
    params, full, iy, it, floats, shapes, sizes, npar = _adjoint_setup(dyn, sol, tt, args,
                                                                       captured)
    aug, others = _augmented(dyn, "adjoint", full, iy, it, floats, d, sizes)
    aug_args = tuple(full[j] for j in others)
    df = _derivative(dyn, "reverse", full, (iy, it) + floats)

    def f_vjp(i, cot):
        """f(y_i, t_i) and the adjoints (y, t, the float parameters flat) of f . cot."""
        value, grads = df(*dyn.full(sol[i], tt[i], args, captured)[0], cot)
        flat = [_flat(gp, shape) for gp, shape in zip(grads[2:], shapes)]
        return (np.ravel(value), _flat(grads[0], (d,)), float(np.sum(grads[1])),
                np.concatenate(flat) if flat else np.zeros(0))

    # the forward replay: each backward solve's start state and result
    a, pbar = np.zeros(d), np.zeros(npar)
    steps = []
    for i in range(n - 1, 0, -1):
        a = a + gb[i]
        state = np.concatenate([sol[i], a, pbar])
        pair = np.array([tt[i], tt[i - 1]])
        out2 = odeint_call(aug, state, pair, aug_args, (), **opts)
        steps.append((i, state, pair, out2))
        a, pbar = out2[1, d:2 * d], out2[1, 2 * d:]
    # the cotangents of the results
    ct_y0, ct_t = _part(ct, 0), _part(ct, 1)
    ct_args, ct_cap = _part(ct, 2), _part(ct, 3)
    ct_tbar = _dense(ct_t, tt.shape)
    ca = np.ravel(_dense(ct_y0, np.shape(y0)))
    g_bar = np.zeros((n, d))
    g_bar[0] = ca
    cp = np.concatenate([np.ravel(_dense(_part(ct_args if w == 0 else ct_cap, k), shape))
                         for (_, w, k), shape in zip(params, shapes)]) if params else \
        np.zeros(0)
    sol_bar, t_bar, p_bar = np.zeros((n, d)), np.zeros(n), np.zeros(npar)
    # tbar[0] = -(f(y_0, t_0) . a)
    f0, gy, gt, gp = f_vjp(0, np.reshape(-ct_tbar[0] * a, np.shape(sol[0])))
    ca = ca - ct_tbar[0] * f0
    sol_bar[0] += gy
    t_bar[0] += gt
    p_bar += gp
    where = {j: k for k, j in enumerate(others)}
    for i, state, pair, out2 in reversed(steps):
        g2 = np.zeros(out2.shape)
        g2[1, d:2 * d], g2[1, 2 * d:] = ca, cp
        s_bar, pair_bar, q_bar, _ = odeint_vjp(g2, out2, aug, state, pair, aug_args, (),
                                               **opts)
        s_bar = np.ravel(s_bar)
        sol_bar[i] += s_bar[:d]
        ca, cp = s_bar[d:2 * d], s_bar[2 * d:]
        t_bar[i] += pair_bar[0]
        t_bar[i - 1] += pair_bar[1]
        at = 0
        for (pos, _, _), size in zip(params, sizes):
            p_bar[at:at + size] += _flat(q_bar[where[pos]], (size,))
            at += size
        # a = a + g[i]; tbar[i] = f(y_i, t_i) . g[i]
        fi, gy, gt, gp = f_vjp(i, np.reshape(ct_tbar[i] * gb[i], np.shape(sol[i])))
        g_bar[i] = ca + ct_tbar[i] * fi
        sol_bar[i] += gy
        t_bar[i] += gt
        p_bar += gp
    args_bar, cap_bar = [0.0] * len(args), [0.0] * len(captured)
    at = 0
    for (_, which, k), size in zip(params, sizes):
        (args_bar if which == 0 else cap_bar)[k] = _like(p_bar[at:at + size],
                                                         _item(args, captured, which, k))
        at += size
    from .runtime import unbroadcast
    return (unbroadcast(g_bar, g), _like(sol_bar, sol), _zero_or(0.0, y0), _like(t_bar, t),
            tuple(args_bar), tuple(cap_bar))

