"""Regression tests of issue 9's rule and runtime cases: each failed (silent zeros, nan where
the derivative is finite, or a crash) before its fix. Oracles: autograd, finite differences
(srcad.testing), closed forms."""
import warnings

import numpy as np
import pytest

import srcad
from srcad.testing import check_grads, numerical_grad

from conftest import autograd_grad
from fixtures import regress_rules as rr

RNG = np.random.default_rng(9)


def rand(*shape):
    return RNG.uniform(0.5, 1.5, size=shape)


def second_order(f, *args, **kw):
    """grad(f)'s derivatives in both modes (forward over reverse is the Hessian) vs finite
    differences of grad(f)."""
    for i in range(len(args)):
        check_grads(srcad.grad(f, wrt=i), *args, rtol=1e-4, atol=1e-5, **kw)


# ------------------------------------------------------------ 1. np.einsum with sublists
@pytest.mark.parametrize("f, shapes", [(rr.einsum_transpose, [(2, 3)]),
                                       (rr.einsum_product, [(2, 3), (3, 4)])])
def test_einsum_sublists_match_autograd(f, shapes):
    args = [rand(*s) for s in shapes]
    for i in range(len(args)):
        want = autograd_grad(f, args, i)
        np.testing.assert_allclose(srcad.grad(f, wrt=i)(*args), want, rtol=1e-10)
    check_grads(f, *args)


def test_einsum_sublists_without_output_and_second_order():
    a, b = rand(3, 3), rand(3, 2)
    check_grads(rr.einsum_implicit, a, b)
    second_order(rr.einsum_implicit, a, b)
    second_order(rr.einsum_product, rand(2, 3), rand(3, 2))


def test_einsum_takes_more_than_four_operands():
    args = [rand(2, 3), rand(3, 2), rand(2, 2), rand(2, 3), rand(3)]
    check_grads(rr.einsum_five, *args)
    np.testing.assert_allclose(srcad.grad(rr.einsum_five, wrt=4)(*args),
                               autograd_grad(rr.einsum_five, args, 4), rtol=1e-10)


def test_einsum_with_too_many_arguments_is_refused_when_built():
    with pytest.raises(srcad.UnsupportedSyntaxError, match="einsum.*at most 9"):
        srcad.grad(rr.einsum_too_many)(rand(3))


# ------------------------------------------------------------ 2. std and var at zero spread
def test_std_over_a_length_one_axis_and_of_a_scalar():
    # std along a length-1 axis, and of a float, is identically 0: derivative exactly 0
    x = rand(3, 1)
    np.testing.assert_array_equal(srcad.grad(rr.std_axis_one)(x), np.ones((3, 1)))
    assert srcad.jvp(rr.std_axis_one, (x,), (np.ones((3, 1)),))[1] == 3.0
    assert srcad.grad(rr.std_scalar)(2.0) == 1.0
    assert srcad.jvp(rr.std_scalar, (2.0,), (1.0,))[1] == 1.0
    assert srcad.hessian(rr.std_scalar)(2.0) == 0.0


def test_std_of_a_constant_array_takes_the_least_subgradient():
    # a kink (std of [a, b] is |a - b| / 2): 0, as abs'(0) = 0 (at entries whose mean
    # rounds to them exactly: std is then exactly 0)
    x = np.full(3, 0.75)
    np.testing.assert_array_equal(srcad.grad(rr.std_constant)(x), 2 * x)
    assert np.all(np.isfinite(srcad.hessian(rr.std_constant)(x)))


def test_var_and_std_with_ddof():
    x = rand(6)
    check_grads(rr.var_std_ddof, x)
    second_order(rr.var_std_ddof, x)


def test_var_with_ddof_beyond_the_count_behaves_like_the_primal():
    # NumPy divides by max(N - ddof, 0) = 0: the value is inf, and so are the derivatives
    x = np.array([0.5, 1.0, 2.0])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isinf(rr.var_ddof_too_large(x))
        g = srcad.grad(rr.var_ddof_too_large)(x)
        assert np.isinf(g[0]) and np.isinf(g[2])
        assert not np.any(np.isfinite(g) & (g != 0))


# ------------------------------------------------------------ 3. powers at x = 0
def test_power_zero_at_zero():
    x = np.array([0.0, 0.5])
    np.testing.assert_array_equal(srcad.grad(rr.pow_zero)(x), [1.0, 1.0])
    np.testing.assert_array_equal(srcad.jacfwd(rr.pow_zero)(x), [1.0, 1.0])
    assert srcad.grad(rr.pow_zero_float)(0.0) == 1.0
    assert srcad.jvp(rr.pow_zero_float, (0.0,), (1.0,))[1] == 1.0
    assert srcad.hessian(rr.pow_zero_float)(0.0) == 0.0


@pytest.mark.parametrize("f, d1, d2", [(rr.pow_one, 1.0, 0.0), (rr.pow_two, 0.0, 2.0),
                                       (rr.pow_three, 0.0, 0.0)])
def test_integer_powers_at_zero(f, d1, d2):
    for x in (0.0, np.zeros(1)):
        assert np.all(srcad.grad(f)(x) == d1)
        assert np.all(srcad.hessian(f)(x) == d2)
        assert srcad.jvp(f, (x,), (np.ones_like(x),))[1] == d1


def test_power_partials_at_zero_base():
    # d/dy 0 ** y = 0 for y > 0; d/dx x ** y at x = 0 is 0 for y > 1 and y = 0
    assert srcad.grad(rr.pow_both, wrt=(0, 1))(0.0, 2.0) == (0.0, 0.0)
    assert srcad.grad(rr.pow_both, wrt=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert srcad.jvp(rr.pow_both, (0.0, 0.0), (1.0, 1.0))[1] == 0.0
    x, y = np.array([0.0, 0.0, 0.7, 1.3]), np.array([0.0, 2.5, 0.0, 1.7])
    gx, gy = srcad.grad(rr.pow_array_exponent, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, [0.0, 0.0, 0.0, 1.7 * 1.3 ** 0.7], rtol=1e-14)
    np.testing.assert_allclose(gy, [0.0, 0.0, np.log(0.7), 1.3 ** 1.7 * np.log(1.3)],
                               rtol=1e-14)
    check_grads(rr.pow_array_exponent, rand(4), rand(4))
    second_order(rr.pow_array_exponent, rand(4), rand(4))


# ------------------------------------------------------------ 4. loops over unlike arrays
def test_loop_over_a_list_of_differently_shaped_arrays():
    W, b = rand(2, 3), rand(3)
    gW, gb = srcad.grad(rr.loop_over_params, wrt=(0, 1))(W, b)
    np.testing.assert_allclose(gW, 2 * W)
    np.testing.assert_allclose(gb, 2 * b)
    check_grads(rr.loop_over_params, W, b)
    second_order(rr.loop_over_params, W, b)


# ------------------------------------------------------------ 5. empty reductions
def test_mean_of_an_empty_array_gives_an_empty_gradient():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(rr.mean_of(np.zeros(0)))
        g = srcad.grad(rr.mean_of)(np.zeros(0))
        assert g.shape == (0,)
        assert srcad.grad(rr.mean_axis)(np.zeros((2, 0))).shape == (2, 0)
        out, t = srcad.jvp(rr.mean_of, (np.zeros(0),), (np.zeros(0),))
        assert np.isnan(out) and np.isnan(t)


# ------------------------------------------------------------ 6. np.dot and @ of N-d operands
ND = [((2, 3, 4), (4, 2)), ((2, 3), (2, 3, 4)), ((2, 2, 3), (3,)), ((3,), (2, 3, 2)),
      ((2, 1, 3), (4, 3, 2)), ((2, 3, 2), ())]


@pytest.mark.parametrize("sa, sb", ND)
def test_dot_of_nd_operands(sa, sb):
    a, b = rand(*sa), rand(*sb) if sb else 1.3
    for f in (rr.dot_nd, rr.method_dot_nd):
        check_grads(f, a, b)
    for i in range(2):
        np.testing.assert_allclose(srcad.grad(rr.dot_nd, wrt=i)(a, b),
                                   autograd_grad(rr.dot_nd, (a, b), i), rtol=1e-10)
    second_order(rr.dot_nd, a, b) if sb else None


@pytest.mark.parametrize("sa, sb", [((2, 2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)),
                                    ((4, 3), (2, 3, 2))])
def test_matmul_of_nd_and_1d_operands(sa, sb):
    a, b = rand(*sa), rand(*sb)
    check_grads(rr.matmul_nd, a, b)
    second_order(rr.matmul_nd, a, b)


# ------------------------------------------------------------ 7. helpers at higher order
def test_third_derivative_through_a_helper():
    # f = (x sin x + x^2) x = x^2 sin x + x^3
    x = 0.7
    want = (6 - x * x) * np.cos(x) - 6 * x * np.sin(x) + 6.0
    got = srcad.grad(srcad.grad(srcad.grad(rr.through_helper)))(x)
    assert got == pytest.approx(want, rel=1e-12)
    h = srcad.hessian(rr.sum_through_helper)(np.array([0.7, 0.3]))
    d2 = lambda x: (2 - x * x) * np.sin(x) + 4 * x * np.cos(x) + 6 * x  # noqa: E731
    np.testing.assert_allclose(np.diag(h), [d2(0.7), d2(0.3)], rtol=1e-12)


def test_hessian_through_helpers_that_return_constants():
    assert srcad.hessian(rr.uses_constant_helper)(0.7) == pytest.approx(4.0, rel=1e-14)
    assert srcad.hessian(rr.uses_constant_nested)(0.7) == pytest.approx(6.0 - np.sin(0.7),
                                                                        rel=1e-12)
    h = srcad.hessian(rr.sum_uses_constant_helper)(np.array([0.7, 0.2]))
    np.testing.assert_allclose(h, 4.0 * np.eye(2))
    g3 = srcad.grad(srcad.grad(srcad.grad(rr.uses_constant_nested)))(0.7)
    assert g3 == pytest.approx(-np.cos(0.7), rel=1e-12)
    assert float(numerical_grad(srcad.grad(rr.uses_constant_helper), (0.7,), 0)) == \
        pytest.approx(4.0, rel=1e-6)


# ------------------------------------------------------------ 8. what the primal raises
@pytest.mark.parametrize("f", [rr.invert, rr.shift, rr.bit_or, rr.dead_invert, rr.dead_in_loop])
def test_bitwise_operators_on_floats_raise_in_every_derivative(f):
    with pytest.raises(TypeError):
        f(1.5)
    for run in (lambda: srcad.grad(f)(1.5), lambda: srcad.value_and_grad(f)(1.5),
                lambda: srcad.jvp(f, (1.5,), (1.0,)), lambda: srcad.vjp(f, 1.5)[1](1.0)):
        with pytest.raises(TypeError):
            run()


@pytest.mark.parametrize("f, x, error", [(rr.dead_log, -1.0, ValueError),
                                         (rr.dead_int, float("nan"), ValueError)])
def test_dead_conversions_and_domain_errors_raise(f, x, error):
    with pytest.raises(error):
        f(x)
    with pytest.raises(error):
        srcad.grad(f)(x)
    with pytest.raises(error):
        srcad.jvp(f, (x,), (1.0,))
    assert srcad.grad(f)(2.0) == 3.0


def test_boolean_masks_still_differentiate():
    x = np.array([0.05, 0.3, 0.7, 0.9])
    np.testing.assert_allclose(srcad.grad(rr.live_mask)(x), [0.1, 0.6, 1.0, 1.0])


# ------------------------------------------------------------ 9. custom rules
def test_custom_rule_source_imports_the_users_functions():
    for f, args in ((rr.uses_mul, (0.7, 1.3)), (rr.uses_cube, (0.7,))):
        text = srcad.source(f, wrt=tuple(range(len(args))))
        assert "from fixtures.regress_rules import" in text
        head = text.split("def ")[0]
        assert not any(n in head.split("from srcad.runtime import")[-1].split("\n")[0]
                       for n in ("mul", "cube")), text
        namespace = {}
        exec(compile(text, "<source>", "exec"), namespace)
        got = namespace[f"{f.__name__}_grad"](*args)
        want = srcad.grad(f, wrt=tuple(range(len(args))))(*args)
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_custom_rule_of_a_function_that_cannot_be_imported_says_where_it_is():
    @srcad.custom_rule(jvp=lambda x, x_dot: 2.0 * x_dot, vjp=lambda x, out, out_bar: 2.0 * out_bar)
    def double(x):
        return 2.0 * x
    rr.GLOBAL_DOUBLE = double            # the fixture below calls it
    text = srcad.source(rr.uses_global_double)
    assert "# double: a srcad.custom_rule function from" in text and "not importable" in text
    assert srcad.grad(rr.uses_global_double)(0.4) == 2.0


def test_a_two_argument_vjp_runs_once_per_call():
    rr.VJP_CALLS.clear()
    x, y = 0.7, 1.3
    gx, gy = srcad.grad(rr.uses_mul, wrt=(0, 1))(x, y)
    assert len(rr.VJP_CALLS) == 1
    assert gx == pytest.approx(y * np.sin(x) + x * y * np.cos(x), rel=1e-14)
    assert gy == pytest.approx(x * np.sin(x), rel=1e-14)
    check_grads(rr.uses_mul, x, y)


def test_custom_rules_with_both_lambdas_on_one_line_at_second_order():
    # cube(x) x + cube(sin x): f' = 4 x^3 + 3 sin^2 x cos x
    x = 0.7
    d2 = 12 * x * x + 6 * np.sin(x) * np.cos(x) ** 2 - 3 * np.sin(x) ** 3
    assert srcad.grad(srcad.grad(rr.uses_cube))(x) == pytest.approx(d2, rel=1e-12)
    assert srcad.hessian(rr.uses_cube)(x) == pytest.approx(d2, rel=1e-12)
    check_grads(rr.uses_hyp, 0.7, 1.3)
    second_order(rr.uses_hyp, 0.7, 1.3)
    second_order(rr.uses_hyp_sum, rand(3), rand(3))


# ------------------------------------------------------------ keywords the rules accept
def test_an_integer_dtype_carries_no_derivative():
    x = np.array([1.5, 2.5, 3.5])
    np.testing.assert_array_equal(srcad.grad(rr.reductions_with_dtype)(x), np.ones(3))
    assert srcad.jvp(rr.reductions_with_dtype, (x,), (np.ones(3),))[1] == 3.0


def test_a_float_dtype_keeps_the_derivative():
    x = np.array([0.5, 0.9, 1.3])
    check_grads(rr.reductions_with_float_dtype, x, rtol=1e-4)


@pytest.mark.parametrize("f", [rr.std_positional_out, rr.sum_positional_keepdims])
def test_positions_numpy_gives_other_meanings_are_refused(f):
    # np.std(x, 0, None, None, 1) passes ddof=1 fifth (fourth is `out`); np.sum's third
    # is dtype: srcad read them as ddof and keepdims before
    with pytest.raises(srcad.UnsupportedSyntaxError, match="at most"):
        srcad.grad(f)(rand(3))


# ------------------------------------------------------------ 10. rule declarations
@pytest.mark.parametrize("decl, message", [
    (dict(jvp="x_dot * cos(x)"), "names cos"),                       # np. forgotten
    (dict(vjp={"y": "out_bar"}), "not parameters"),                  # a parameter misspelt
    (dict(vjp="SHARED[0]"), "names SHARED"),                         # no vjp_shared
    (dict(primal="x + z"), "names z"),
    (dict(jvp="y_dot * x"), "names y_dot"),
])
def test_a_template_naming_what_it_cannot_fails_when_declared(decl, message):
    from srcad import rules

    def prim(x):
        return x
    with pytest.raises(ValueError, match=message):
        rules.defrule(prim, "x", name="prim", **decl)
    assert rules.lookup(prim) is None


def test_reciprocal_derivatives_divide_on_the_tree():
    from srcad import rules
    assert rules.lookup(np.arcsin).vjp["x"].text == "out_bar / np.sqrt(1.0 - x ** 2)"
    assert rules.lookup(np.log).jvp["x"].text == "x_dot / x"
    assert rules.lookup(np.sin).vjp["x"].text == "out_bar * np.cos(x)"
    assert rules.lookup(np.cbrt).vjp["x"].text == "out_bar / (3.0 * out ** 2)"


def test_linspace_with_an_integer_dtype_carries_no_derivative():
    a, b = 0.7, 5.3
    ga, gb = srcad.grad(rr.linspace_int, wrt=(0, 1))(a, b)
    # sum(linspace(a, b, 4)) * a = 2 (a + b) a
    assert ga == pytest.approx(4 * a + 2 * b, rel=1e-12) and gb == pytest.approx(2 * a, rel=1e-12)
    assert srcad.jvp(rr.linspace_int, (a, b), (1.0, 0.0))[1] == pytest.approx(4 * a + 2 * b)


def test_third_derivative_through_a_helper_returning_a_tuple():
    # x^3 + x^2: the third derivative is 6
    assert srcad.grad(srcad.grad(srcad.grad(rr.uses_pair)))(0.7) == pytest.approx(6.0, rel=1e-12)
    assert srcad.hessian(rr.uses_pair)(0.7) == pytest.approx(6 * 0.7 + 2, rel=1e-12)


def test_a_call_the_rule_does_not_fit_names_the_supported_form():
    with pytest.raises(srcad.UnsupportedSyntaxError, match=r"np\.arctan2\(y, x\)") as e:
        srcad.grad(rr.misfit_call)(0.3, 0.5)
    assert e.value.lineno is not None and "0x" not in str(e.value)


def test_max_of_a_list_display_is_the_max_of_its_items():
    # lowered to max(a, b): the derivative goes to the larger item
    assert srcad.grad(rr.max_of_a_list, wrt=(0, 1))(0.3, 0.5) == (0.0, 1.0)
    assert srcad.grad(rr.max_of_a_list, wrt=(0, 1))(0.7, 0.5) == (1.0, 0.0)


# ------------------------------------------------------------ the runtime's helpers, directly
def test_runtime_helpers_take_every_kind_they_are_given():
    from srcad import runtime as rt
    W, b = np.ones((2, 3)), np.ones(3)
    z = rt.zeros_like([W, b, 1.5, (2.0, b)])
    assert z[0].shape == (2, 3) and z[1].shape == (3,) and z[2] == 0.0
    assert z[3][0] == 0.0 and z[3][1].shape == (3,)
    # a shape tuple, a tuple of values, numpy scalars, 0-d arrays, Python floats
    assert rt.unbroadcast(np.ones((4, 3)), (3,)).tolist() == [4.0] * 3
    got = rt.unbroadcast((np.ones((2, 3)), 1.0, np.float64(2.0)), (b, 0.5, np.float64(1.0)))
    assert got[0].tolist() == [2.0] * 3 and got[1] == 1.0 and got[2] == 2.0
    assert rt.unbroadcast(np.ones(3), np.float64(1.0)) == 3.0
    assert rt.unbroadcast(np.ones(3), np.array(1.0)) == 3.0
    assert rt.unbroadcast(0.0, b).tolist() == [0.0] * 3             # a zero item
    assert rt.bcast((1.0, b), (2.0, np.ones((2, 3))))[1].shape == (2, 3)    # item by item
    assert np.isnan(rt.inv_count(np.zeros(0), np.float64(np.nan)))      # no entries
    assert rt.inv_count(np.ones((2, 3)), np.ones(3), 1) == 1.0
    assert rt.inv_count(np.ones(3), 1.0, 3) == np.inf
    np.testing.assert_array_equal(rt.recip_or_zero(np.array([0.0, 2.0])), [0.0, 0.5])
    assert rt.recip_or_zero(0.0) == 0.0 and rt.recip_or_zero(np.float32(0.0)) == 0.0
    assert rt.recip_or_zero(np.ones(2, np.float32)).dtype == np.float32


def test_list_adjoints_add_item_by_item_whatever_adds_them():
    from srcad import runtime as rt
    a = rt.zeros_like([np.ones(2), 1.0])
    total = a + rt.unindex(np.ones(2), [np.ones(2), 1.0], 0)
    assert len(total) == 2 and total[0].tolist() == [1.0, 1.0] and total[1] == 0.0
    total += rt.unindex(3.0, [np.ones(2), 1.0], 1)
    assert len(total) == 2 and total[1] == 3.0
    assert len((1.0, 2.0) + rt.unindex(1.0, (1.0, 2.0), 0)) == 2
