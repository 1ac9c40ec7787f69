"""The handbook of linear algebra: products, contractions, diagonals, norms, inverse,
determinant and solve.

np.dot, np.matmul and `@` live in `core`. Products are linear in each factor, so a
tangent is the product with one factor replaced by its tangent; an adjoint contracts
`out_bar` with the other factor. np.linalg functions take stacks of matrices (`...`
leading axes), as NumPy does; `x.mT` is the matrix transpose of a stack.

Conventions: np.linalg.norm is differentiated for the vector 2-norm and the matrix
Frobenius norm (ord None, 2 or 'fro') and vector p-norms (ord p or +-inf, ties of the
inf-norm split equally); its derivative at x = 0 is nan (0/0). det and slogdet are
differentiated through the inverse: d det = det tr(x^-1 dx), undefined for singular x.
einsum takes its subscripts as a string (up to eight operands) or as sublists (up to four
operands and the output's sublist); `optimize=` changes only how it is computed.
"""
import numpy as np

from . import ANY, FLOAT, defrule

# ------------------------------------------------------------ products of vectors and tensors
defrule(np.vdot, "x, y", name="np.vdot", kind=FLOAT,          # sum(ravel(x) * ravel(y)), real
        jvp={"x": "np.vdot(x_dot, y)", "y": "np.vdot(x, y_dot)"},
        vjp={"x": "out_bar * np.reshape(y, np.shape(x))",
             "y": "out_bar * np.reshape(x, np.shape(y))"})
defrule(np.inner, "x, y", name="np.inner", kind=ANY,          # contracts the last axes
        jvp={"x": "np.inner(x_dot, y)", "y": "np.inner(x, y_dot)"},
        vjp={"x": "inner_vjp_x(out_bar, x, y)", "y": "inner_vjp_y(out_bar, x, y)"})
defrule(np.outer, "x, y", name="np.outer", kind=ANY,          # ravel(x)[:, None] * ravel(y)
        jvp={"x": "np.outer(x_dot, y)", "y": "np.outer(x, y_dot)"},
        # (out_bar broadcast first: it may be a scalar, a lazy sum's adjoint or a 0.0 zero)
        vjp={"x": "np.reshape(np.broadcast_to(out_bar, np.shape(out)) @ np.ravel(y), np.shape(x))",
             "y": "np.reshape(np.ravel(x) @ np.broadcast_to(out_bar, np.shape(out)), np.shape(y))"})
defrule(np.tensordot, "x, y, axes=2", name="np.tensordot", kind=ANY,
        jvp={"x": "np.tensordot(x_dot, y, axes)", "y": "np.tensordot(x, y_dot, axes)"},
        vjp={"x": "tensordot_vjp_x(out_bar, x, y, axes)",
             "y": "tensordot_vjp_y(out_bar, x, y, axes)"})
# einsum may return a view of its operand (np.einsum("ii->i", a) is its diagonal)
# np.einsum("ij,jk", a, b) or np.einsum(a, [0, 1], b, [1, 2], [0, 2]): the runtime reads
# either form; each argument position is a parameter, and only operands are ever active
EINSUM_ARGS = 9                   # np.einsum's positional arguments srcad differentiates
_EINSUM = [f"x{i}" for i in range(EINSUM_ARGS)]
_EINSUM_ARGS = ", ".join(_EINSUM)
defrule(np.einsum, ", ".join([_EINSUM[0]] + [f"{p}=None" for p in _EINSUM[1:]] +
                            ["*", "optimize=False"]), name="np.einsum", kind=ANY,
        storage="view", storage_arg="x0, x1",
        jvp={p: f"einsum_jvp({i}, {p}_dot, {_EINSUM_ARGS})" for i, p in enumerate(_EINSUM)},
        vjp={p: f"einsum_vjp({i}, out_bar, {_EINSUM_ARGS})" for i, p in enumerate(_EINSUM)})

# ------------------------------------------------------------ diagonals
defrule(np.trace, "x, offset=0, axis1=0, axis2=1", name="np.trace", method="trace", kind=ANY,
        jvp="np.trace(x_dot, offset, axis1, axis2)",
        vjp="undiagonal(np.expand_dims(out_bar, -1), x, offset, axis1, axis2)")
defrule(np.diagonal, "x, offset=0, axis1=0, axis2=1", name="np.diagonal", method="diagonal",
        kind=ANY, storage="view",
        jvp="np.diagonal(x_dot, offset, axis1, axis2)",
        vjp="undiagonal(out_bar, x, offset, axis1, axis2)")
defrule(np.diag, "v, k=0", name="np.diag", kind=ANY, storage="view",  # vector <-> matrix
        jvp="np.diag(v_dot, k)",
        vjp="undiag(out_bar, v, k)")

# ------------------------------------------------------------ np.linalg
defrule(np.linalg.norm, "x, ord=None, axis=None, keepdims=False", name="np.linalg.norm",
        kind="reduce",
        jvp="np.sum(x_dot * norm_weight(x, out, ord, axis, keepdims), axis=axis, "
            "keepdims=keepdims)",
        vjp="unreduce(out_bar, x, axis, keepdims) * norm_weight(x, out, ord, axis, keepdims)")
defrule(np.linalg.inv, "x", name="np.linalg.inv", kind=ANY,   # d(x^-1) = -x^-1 dx x^-1
        jvp="-(out @ x_dot @ out)",
        vjp="-(out.mT @ out_bar @ out.mT)")
defrule(np.linalg.det, "x", name="np.linalg.det", kind=ANY,   # d det = det tr(x^-1 dx)
        jvp="out * np.trace(np.linalg.solve(x, x_dot), axis1=-2, axis2=-1)",
        vjp="np.expand_dims(out_bar * out, (-2, -1)) * np.linalg.inv(x).mT")
defrule(np.linalg.slogdet, "x", name="np.linalg.slogdet", kind=ANY,  # (sign, log|det|)
        jvp="(np.zeros_like(out[0]), np.trace(np.linalg.solve(x, x_dot), axis1=-2, axis2=-1))",
        vjp="np.expand_dims(out_bar[1], (-2, -1)) * np.linalg.inv(x).mT")
defrule(np.linalg.solve, "a, b", name="np.linalg.solve", kind=ANY,  # out = a^-1 b
        jvp={"a": "solve_jvp_a(a, a_dot, out, b)", "b": "np.linalg.solve(a, b_dot)"},
        vjp={"a": "solve_vjp_a(out_bar, a, b, out)", "b": "solve_vjp_b(out_bar, a, b)"})
# the matrix transpose of a stack, `x.mT` (the inverse's adjoint uses it)
defrule(("attr", "mT"), "x", primal="x.mT", kind=ANY, storage="view", jvp="x_dot.mT",
        vjp="out_bar.mT")
