"""The handbook of scipy.linalg: cholesky, solve_triangular, cho_factor and cho_solve
(what Gaussian processes need), tangent and adjoint through runtime_scipy's helpers;
expm (through expm_frechet), sqrtm and solve_sylvester (through Sylvester equations),
solve_banded (band storage in, band storage out), lu_factor and lu_solve (p a = l u; the pivots are constant where a's entries are distinct
enough that partial pivoting does not change, and carry no derivative), for real 2-d
matrices. sqrtm's derivative does not exist where out has eigenvalues
summing to zero (a singular a): the Sylvester solve then fails or gives inf (or ~1/eps
where LAPACK rounds: 4.5e15 at diag(1, 0)), as SciPy's.

LAPACK reads one triangle of its input, and so do these functions: cholesky(a, lower)
reads a's upper triangle (lower=False, SciPy's default) or its lower one, and
solve_triangular(a, b, lower=..., unit_diagonal=...) reads a's triangle (not its diagonal
when unit_diagonal), cho_factor reads a triangle and copies a's other entries into c,
cho_solve reads the factor's triangle of c. Their derivatives are those of the functions SciPy computes: an
adjoint lies on the triangle read (for cholesky, off-diagonal entries count twice, as each
stands for two entries of the symmetric matrix), zero on the other; a tangent's unread
entries are ignored. (autograd's np.linalg.cholesky instead returns the symmetric
gradient: the same on symmetric directions.) cholesky's adjoint is Murray's (2016):
a_bar = L^-T Phi(L^T L_bar) L^-1, symmetrized, Phi the lower triangle with half the
diagonal. cho_factor/cho_solve take 2-d matrices and pass `lower` along as SciPy does
(its tangent and adjoint are 0.0). solve_triangular takes trans 0/'N', 1/'T' and 2/'C' (real: 'T'). A matrix that
is not positive definite raises LinAlgError in the primal, as SciPy does; so does
solve_triangular of a singular triangular matrix (a zero on the diagonal). Second derivatives differentiate the
runtime helpers by reading their source (no item assignment there: the LU pivots' row order
comes from lu_perm, which has a rule); expm's are refused (SciPy's expm_frechet passes a
function as a value).
Memory (benchmarks/adjoint_cost.py, 2026-12-02): expm's derivative is SciPy's
expm_frechet, whose own matrices make its statement 3.4x (adjoint) and 3.0x (tangent) its
inputs and output; sqrtm's Sylvester solve (Schur forms and copies inside
scipy.linalg.solve_sylvester) 3.0x; lu_solve's adjoint in the factor 1.6x.
"""
import scipy.linalg as sl

from .. import runtime_scipy
from . import ANY, deflinear, defrule

defrule(sl.cholesky, "a, lower=False, overwrite_a=False, check_finite=True",
        name="scipy.linalg.cholesky", kind=ANY,
        jvp="sl_cholesky_jvp(a_dot, out, lower)", vjp="sl_cholesky_vjp(out_bar, out, lower)")
defrule(sl.solve_triangular, "a, b, trans=0, lower=False, unit_diagonal=False, "
        "overwrite_b=False, check_finite=True", name="scipy.linalg.solve_triangular", kind=ANY,
        jvp={"a": "tri_solve_jvp_a(a_dot, a, out, trans, lower, unit_diagonal)",
             "b": "scipy.linalg.solve_triangular(a, b_dot, trans, lower, unit_diagonal)"},
        vjp={"a": "tri_solve_vjp_a(out_bar, a, out, trans, lower, unit_diagonal)",
             "b": "tri_solve_vjp_b(out_bar, a, trans, lower, unit_diagonal)"})

# solve(a, b) = m^-1 b, m = solve_matrix(a, ...): a, a^T (transposed) or the symmetric
# matrix of the triangle SciPy reads (assume_a 'sym', 'her', 'pos'); np.linalg.solve's
# derivatives through m, and m's adjoint back onto a by the transpose, unsolve_matrix
_M = "solve_matrix(a, assume_a, lower, transposed)"
defrule(sl.solve, "a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, "
        "assume_a=None, transposed=False", name="scipy.linalg.solve", kind=ANY,
        jvp={"a": f"solve_jvp_a({_M}, solve_matrix(a_dot, assume_a, lower, transposed), out, b)",
             "b": f"np.linalg.solve({_M}, b_dot)"},
        vjp={"a": f"unsolve_matrix(solve_vjp_a(out_bar, {_M}, b, out), assume_a, lower, "
                  "transposed)",
             "b": f"solve_vjp_b(out_bar, {_M}, b)"})
deflinear(runtime_scipy.solve_matrix, "a, assume_a=None, lower=False, transposed=False",
          vjp="unsolve_matrix(out_bar, assume_a, lower, transposed)",
          zero_in="assume_a, lower, transposed")
deflinear(runtime_scipy.unsolve_matrix, "g, assume_a=None, lower=False, transposed=False",
          vjp="solve_matrix(out_bar, assume_a, lower, transposed)",
          zero_in="assume_a, lower, transposed")

# cho_factor(a, lower) = (c, lower): c holds the factor on one triangle and a's own entries
# on the other (SciPy leaves them), so the derivative there is the identity
defrule(sl.cho_factor, "a, lower=False, overwrite_a=False, check_finite=True",
        name="scipy.linalg.cho_factor", kind=ANY, returns_seq=True,
        jvp="(cho_factor_jvp(a_dot, out[0], out[1]), 0.0)",
        vjp="cho_factor_vjp(out_bar[0], out[0], out[1])")
# cho_solve((c, lower), b) = (F F^T)^-1 b, F the factor on c's triangle: b's adjoint solves
# again; c's is (a_bar + a_bar^T) F on that triangle, a_bar = -b_bar x^T
defrule(sl.cho_solve, "c_and_lower, b, overwrite_b=False, check_finite=True",
        name="scipy.linalg.cho_solve", kind=ANY,
        jvp={"c_and_lower": "cho_solve_jvp_c(c_and_lower_dot[0], c_and_lower, out)",
             "b": "scipy.linalg.cho_solve(c_and_lower, b_dot)"},
        vjp={"c_and_lower": "(cho_solve_vjp_c(out_bar, c_and_lower, out), 0.0)",
             "b": "scipy.linalg.cho_solve(c_and_lower, out_bar)"})

# ------------------------------------------------------------ matrix functions and equations
# expm: its Frechet derivative L(a, e); the adjoint is L(a^T, g) (cast: expm_frechet
# computes in float64)
defrule(sl.expm, "a", name="scipy.linalg.expm", kind=ANY,
        jvp="cast_tangent(scipy.linalg.expm_frechet(a, a_dot, compute_expm=False), out)",
        vjp="cast_tangent(scipy.linalg.expm_frechet(a.T, out_bar, compute_expm=False), a)")
# sqrtm: out d + d out = da, a Sylvester equation for d; its transpose for the adjoint
# (sqrtm_sylvester: one Schur form of out, where solve_sylvester(out, out, .) makes two)
defrule(sl.sqrtm, "a, disp=True, blocksize=64", name="scipy.linalg.sqrtm", kind=ANY,
        jvp="sqrtm_sylvester(out, a_dot)", vjp="sqrtm_sylvester(out.T, out_bar)")
# sqrtm_sylvester(s, q): s x + x s = q; s dx + dx s = dq - ds x - x ds
defrule(runtime_scipy.sqrtm_sylvester, "s, q", name="sqrtm_sylvester", kind=ANY,
        jvp={"s": "sqrtm_sylvester(s, -(s_dot @ out + out @ s_dot))",
             "q": "sqrtm_sylvester(s, q_dot)"},
        vjp_shared="sqrtm_sylvester_adjoints(out_bar, s, out)",
        vjp={"s": "SHARED[0]", "q": "SHARED[1]"})
# solve_sylvester: a x + x b = q; a dx + dx b = dq - da x - x db; q_bar solves the
# transposed equation, a_bar = -q_bar x^T, b_bar = -x^T q_bar
defrule(sl.solve_sylvester, "a, b, q", name="scipy.linalg.solve_sylvester", kind=ANY,
        jvp={"a": "scipy.linalg.solve_sylvester(a, b, -(a_dot @ out))",
             "b": "scipy.linalg.solve_sylvester(a, b, -(out @ b_dot))",
             "q": "scipy.linalg.solve_sylvester(a, b, q_dot)"},
        # (one transposed solve shared by the three adjoints)
        vjp_shared="sylvester_adjoints(out_bar, a, b, out)",
        vjp={"a": "SHARED[0]", "b": "SHARED[1]", "q": "SHARED[2]"})

# ------------------------------------------------------------ LU
# lu_factor(a) = (lu, piv) with p a = l u; lu_solve((lu, piv), b, trans) solves with a or a^T
defrule(sl.lu_factor, "a, overwrite_a=False, check_finite=True", name="scipy.linalg.lu_factor",
        kind=ANY, returns_seq=True,
        jvp="(lu_factor_jvp(a_dot, out[0], out[1]), 0.0)",
        vjp="lu_factor_vjp(out_bar[0], out[0], out[1])")
# the row order of the pivots (integers): the helpers below read it at second order
defrule(runtime_scipy.lu_perm, "piv", name="lu_perm", kind=ANY, differentiable=False,
        returns_seq=True)
defrule(sl.lu_solve, "lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True",
        name="scipy.linalg.lu_solve", kind=ANY,
        jvp={"lu_and_piv": "lu_solve_jvp_lu(lu_and_piv_dot[0], lu_and_piv, out, trans)",
             "b": "scipy.linalg.lu_solve(lu_and_piv, b_dot, trans)"},
        vjp={"lu_and_piv": "(lu_solve_vjp_lu(out_bar, lu_and_piv, out, trans), 0.0)",
             "b": "lu_solve_vjp_b(out_bar, lu_and_piv, trans)"})

# ------------------------------------------------------------ banded
# solve_banded((l, u), ab, b): a's band stored as ab[u + i - j, j] = a[i, j]; ab's adjoint
# is -b_bar x^T on the band (zero on the corners ab does not use), b_bar = a^-T g
defrule(sl.solve_banded, "l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, "
        "check_finite=True", name="scipy.linalg.solve_banded", kind=ANY,
        jvp={"ab": "solve_banded_jvp_ab(ab_dot, l_and_u, ab, out)",
             "b": "scipy.linalg.solve_banded(l_and_u, ab, b_dot)"},
        vjp={"ab": "solve_banded_vjp_ab(out_bar, l_and_u, ab, out)",
             "b": "solve_banded_vjp_b(out_bar, l_and_u, ab)"})
