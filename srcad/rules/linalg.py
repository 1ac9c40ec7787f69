"""The handbook of linear algebra: products, contractions, diagonals, norms, inverse,
determinant and solve.

np.dot, np.matmul and `@` live in `core`. Products are linear in each factor, so a
tangent is the product with one factor replaced by its tangent; an adjoint contracts
`out_bar` with the other factor. np.linalg functions take stacks of matrices (`...`
leading axes), as NumPy does; `x.mT` is the matrix transpose of a stack.

Conventions: np.linalg.norm is differentiated for the vector 2-norm and the matrix
Frobenius norm (ord None, 2 or 'fro') and vector p-norms (ord p or +-inf, ties of the
inf-norm split equally); its derivative at x = 0 is nan (0/0). det and slogdet are
differentiated through the inverse: d det = det tr(x^-1 dx); at a singular x both modes
raise NumPy's LinAlgError (det's derivative there, the cofactor matrix, exists: srcad does
not compute it; JAX does).
einsum takes its subscripts as a string (up to eight operands) or as sublists (up to four
operands and the output's sublist); `optimize=` changes only how it is computed.

Decompositions (runtime helpers `*_jvp`/`*_vjp`, stacks of matrices too; a tuple result's
unused items have zero adjoints, and the terms they feed are skipped):
- eigh, eigvalsh and cholesky read one triangle (eigh's UPLO, cholesky's lower one, its
  upper one with upper=True): the adjoint lies on that triangle (off-diagonal entries count
  twice, as each stands for two entries of the symmetric matrix), a tangent's other
  triangle is ignored. (autograd's cholesky gradient is instead symmetric: the same along
  symmetric directions.) cholesky is Murray's (2016); a matrix that is not positive
  definite raises LinAlgError in the primal.
- Repeated eigenvalues (singular values): the derivative of the eigenvalues (singular
  values) alone is v diag(w_bar) v^T (u diag(s_bar) vh), defined and correct for any
  function symmetric in the repeated ones (their sum, any norm); the eigenvectors'
  (singular vectors') derivative does not exist there and has 1/(w_j - w_i) = inf terms:
  inf or nan wherever they are used. Zero singular values of a non-square matrix make the
  singular vectors' derivative inf/nan likewise. Eigen- and singular vectors are those
  NumPy returns, their signs held fixed.
- svd with full_matrices=True and qr with mode='complete' of a non-square matrix: the
  columns of u (q) beyond min(m, n) (and rows of vh) are no function of the matrix
  srcad differentiates: their tangent is nan, and an adjoint that reaches them makes the
  whole adjoint nan; the first min(m, n) are differentiated exactly. qr's mode='raw' and
  svd's hermitian=True are refused. A wide qr, a = [x y] with x square, is q [r1, q^T y].
- eig is differentiated where all eigenvalues are real (NumPy then returns real arrays,
  unit-norm eigenvectors); complex eigenvalues raise NotImplementedError when the
  derivative runs (complex eigenvectors' phase is LAPACK's choice, no derivative srcad
  gives).
- pinv and lstsq are differentiated where the rank is locally constant (no singular value
  at the cutoff), x = pinv(a) b for lstsq, its residuals and singular values too; the
  rank has no derivative. matrix_power takes a constant integer n (negative: through the
  inverse).
- norm of a matrix with ord='nuc' (sum of singular values), 2 (largest) and -2 (smallest)
  is differentiated as u diag(w) vh: ties of the largest (smallest) split equally, zero
  singular values get weight 0 (as abs'(0) = 0); their second derivatives (and higher)
  differentiate u diag(w) vh through the svd's derivatives, w held constant.

Memory (benchmarks/adjoint_cost.py, each statement's own temporary over its inputs and
output, 2026-12-02): the decompositions' derivatives need the factors, which are as large
as a (eigh's v; svd's u and vh, twice a's size for a square a) and form a product or two of
a's size: eigh 1.28 (tangent), eigvalsh 1.69 / 2.21 (it keeps no eigenvectors: both modes
recompute eigh), svd 1.19, svd values 1.21 / 1.58 and pinv 1.06 / 1.10 (both recompute
the svd), norm 'nuc' / 2 / -2 1.39-1.89 (u diag(w) vh). (LAPACK's own workspace is
allocated outside tracemalloc's view and not counted.) The products' adjoints contract
broadcast axes inside one tensordot (x @ y: no g @ y.T of the broadcast shape), and
tensordot's tangent is one contraction of [tx, x] and [y, ty].
"""
import numpy as np

from .. import runtime
from . import ANY, FLOAT, NONE, defrule

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
        jvp_shared="tensordot_jvp(x_dot, y_dot, x, y, axes)",
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
defrule(np.linalg.slogdet, "x", name="np.linalg.slogdet", returns_seq=True,  # (sign, log|det|)
        kind=ANY,
        jvp="(np.zeros_like(out[0]), np.trace(np.linalg.solve(x, x_dot), axis1=-2, axis2=-1))",
        vjp="np.expand_dims(out_bar[1], (-2, -1)) * np.linalg.inv(x).mT")
defrule(np.linalg.solve, "a, b", name="np.linalg.solve", kind=ANY,  # out = a^-1 b
        jvp={"a": "solve_jvp_a(a, a_dot, out, b)", "b": "np.linalg.solve(a, b_dot)"},
        vjp={"a": "solve_vjp_a(out_bar, a, b, out)", "b": "solve_vjp_b(out_bar, a, b)"})
# the matrix transpose of a stack, `x.mT` (the inverse's adjoint uses it)
defrule(("attr", "mT"), "x", primal="x.mT", kind=ANY, storage="view", jvp="x_dot.mT",
        vjp="out_bar.mT")

# ------------------------------------------------------------ decompositions
# the derivative of what NumPy computes: eigh, eigvalsh and cholesky read one triangle
defrule(np.linalg.eigh, "a, UPLO='L'", name="np.linalg.eigh", kind=ANY, returns_seq=True,
        jvp="eigh_jvp(a_dot, out, UPLO)", vjp="eigh_vjp(out_bar, out, UPLO)")
defrule(np.linalg.eigvalsh, "a, UPLO='L'", name="np.linalg.eigvalsh", kind=ANY,
        jvp="eigvalsh_jvp(a_dot, a, UPLO)", vjp="eigvalsh_vjp(out_bar, a, UPLO)")
defrule(np.linalg.cholesky, "a, *, upper=False", name="np.linalg.cholesky", kind=ANY,
        jvp="cholesky_jvp(a_dot, out, upper)", vjp="cholesky_vjp(out_bar, out, upper)")
defrule(np.linalg.svd, "a, full_matrices=True, compute_uv=True", name="np.linalg.svd",
        returns_seq=True,
        kind=ANY,
        jvp="svd_jvp(a_dot, a, out, full_matrices, compute_uv)",
        vjp="svd_vjp(out_bar, a, out, full_matrices, compute_uv)")
defrule(np.linalg.qr, "a, mode='reduced'", name="np.linalg.qr", returns_seq=True, kind=ANY,
        jvp="qr_jvp(a_dot, a, out, mode)", vjp="qr_vjp(out_bar, a, out, mode)")
defrule(np.linalg.pinv, "a, rcond=None", name="np.linalg.pinv", kind=ANY,
        jvp="pinv_jvp(a_dot, a, out)", vjp="pinv_vjp(out_bar, a, out)", zero_in="rcond")
defrule(np.linalg.lstsq, "a, b, rcond=None", name="np.linalg.lstsq", returns_seq=True, kind=ANY,
        jvp_shared="lstsq_jvp(a_dot, b_dot, a, b, out, rcond)",
        vjp={"a": "lstsq_vjp_a(out_bar, a, b, out, rcond)",
             "b": "lstsq_vjp_b(out_bar, a, b, out, rcond)"}, zero_in="rcond")
defrule(np.linalg.matrix_power, "a, n", name="np.linalg.matrix_power", kind=ANY,
        jvp="matrix_power_jvp(a_dot, a, n)", vjp="matrix_power_vjp(out_bar, a, n)")
defrule(np.linalg.eig, "a", name="np.linalg.eig", returns_seq=True, kind=ANY,
        jvp="eig_jvp(a_dot, out)", vjp="eig_vjp(out_bar, out)")
# the check eig's derivatives make (it raises for complex eigenvalues, as a rule so that
# second derivatives read eig_jvp and eig_vjp without it)
defrule(runtime.require_real_eig, "w", name="require_real_eig", kind=NONE, differentiable=False,
        total=False)
# the check the decompositions' and norms' derivatives make (they raise for a complex
# intermediate, whose derivative would need conjugates: silently wrong before)
defrule(runtime.require_real, "x, what", name="require_real", kind=NONE, differentiable=False,
        total=False)
