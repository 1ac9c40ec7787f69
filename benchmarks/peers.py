"""Run the benchmark functions under autograd, JAX and PyTorch.

The functions in cases.py reach NumPy and math through their module globals
``np`` and ``math``. ``rebind`` copies a function with those two names pointing
at another library, so every system differentiates the very same code. Each
``*_grad`` returns ``(fn, args)``: ``fn(*args)`` computes the gradients with
respect to ``wrt``, with the arguments already converted to that library's
arrays (the conversion is not timed). Each raises ImportError when its library
is not installed.
"""

import math
import types

import numpy as np

MATH_NAMES = ("sin", "cos", "exp", "log", "sqrt", "tanh")


def rebind(f, np_module, math_module):
    """A copy of ``f`` whose globals ``np`` and ``math`` are the given modules."""
    scope = dict(f.__globals__, np=np_module, math=math_module)
    return types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__, f.__closure__)


def _math_from(lib):
    # math.sin etc. reject traced values: use the library's own functions.
    return types.SimpleNamespace(**{name: getattr(lib, name) for name in MATH_NAMES})


def autograd_grad(f, wrt):
    import autograd
    import autograd.numpy as anp

    return autograd.grad(rebind(f, anp, _math_from(anp)), wrt)


def autograd_impl(f, wrt, args):
    return autograd_grad(f, wrt), args


def jax_impl(f, wrt, args):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    grad = jax.jit(jax.grad(rebind(f, jnp, _math_from(jnp)), argnums=wrt))

    def call(*jargs):
        return jax.block_until_ready(grad(*jargs))

    return call, tuple(jnp.asarray(a, dtype=jnp.float64) for a in args)


def _torch_namespaces(torch):
    def reduce(op):
        def numpy_style(x, axis=None, keepdims=False):
            return op(x) if axis is None else op(x, dim=axis, keepdim=keepdims)

        return numpy_style

    def scalar_or_tensor(name):
        tensor_fn, float_fn = getattr(torch, name), getattr(math, name)
        return lambda x: tensor_fn(x) if isinstance(x, torch.Tensor) else float_fn(x)

    np_like = types.SimpleNamespace(
        **{name: getattr(torch, name) for name in MATH_NAMES},
        sum=reduce(torch.sum),
        mean=reduce(torch.mean),
        max=reduce(torch.amax),
    )
    math_like = types.SimpleNamespace(**{name: scalar_or_tensor(name) for name in MATH_NAMES})
    return np_like, math_like


def torch_impl(f, wrt, args):
    import torch

    tf = rebind(f, *_torch_namespaces(torch))
    targs = tuple(
        torch.tensor(a, dtype=torch.float64, requires_grad=i in wrt) for i, a in enumerate(args)
    )

    def call(*targs):
        return torch.autograd.grad(tf(*targs), [targs[i] for i in wrt])

    return call, targs


def to_numpy(g):
    """A gradient from any system as a NumPy value (0-d array for scalars)."""
    if hasattr(g, "detach"):  # torch.Tensor
        g = g.detach().numpy()
    return np.asarray(g)
