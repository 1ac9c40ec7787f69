"""Regression tests for what the lead fixed in the sixth session. Oracles: finite
differences (srcad.testing) of srcad's or a closed-form gradient."""
import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from fixtures import regress_lead6 as R


def test_hessian_of_a_function_with_a_keyword_only_parameter():
    # the hessian's check that the inner function returns a scalar called it with the
    # keyword-only `l2` as a fourth positional argument (a TypeError)
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(6, 2)), (rng.normal(size=6) > 0) * 1.0, rng.normal(size=2)
    H = srcad.hessian(R.logistic)(w, X, y)
    fd = numerical_grad(lambda w: srcad.grad(R.logistic)(w, X, y), (w,), 0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)
    H2 = srcad.hessian(R.logistic)(w, X, y, l2=0.5)
    np.testing.assert_allclose(H2 - H, 0.8 * np.eye(2), atol=1e-7)


def test_hessian_through_cho_solve():
    # cho_solve's adjoint helper imported scipy.linalg in its body, and srcad, reading its
    # source at second order, refused the import, naming its own runtime file
    pytest.importorskip("scipy")
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    p = {"log_ls": 0.1, "log_sn": -1.0}
    H = srcad.hessian(R.gp_nll)(p, X, y)
    for a in p:
        for b in p:
            def grad_a(v, a=a, b=b):
                return srcad.grad(R.gp_nll)({**p, b: v}, X, y)[a]
            fd = numerical_grad(grad_a, (p[b],), 0)
            np.testing.assert_allclose(H[a][b], fd, rtol=1e-5, atol=1e-6)


def test_str_methods_of_a_dicts_keys():
    # `k.startswith("W")` on a key from `params.items()` was refused: srcad cannot type a
    # dict's keys at build time and had no rule for the method
    p = {"W1": np.array([1.0, -2.0]), "W2": np.array([[0.5]]), "b": np.array([3.0, 4.0])}
    g = srcad.grad(R.l2_of_weights)(p)
    np.testing.assert_allclose(g["W1"], 2 * p["W1"])
    np.testing.assert_allclose(g["W2"], 2 * p["W2"])
    np.testing.assert_allclose(g["b"], np.ones(2))
    fd = numerical_grad(R.l2_of_weights, (p,), 0, path=("W1",))
    np.testing.assert_allclose(g["W1"], fd, rtol=1e-6)
    H = srcad.hessian(R.l2_of_weights)(p)
    np.testing.assert_allclose(H["W1"]["W1"], 2 * np.eye(2))


def test_a_str_method_name_on_an_object_of_a_known_class_is_its_method():
    # `.lower()` of an item of a list of objects: srcad knows the item's class (s6py), so the
    # name is the class's method, not str.lower
    objs, x = [R.Scaled(np.array([1.0, 3.0]))], np.ones(2)
    np.testing.assert_allclose(srcad.grad(R.lower_of_items, wrt=1)(objs, x), [0.5, 1.5])
    np.testing.assert_allclose(srcad.grad(R.lower_of_items, wrt=0)(objs, x)[0].a, [0.5, 0.5])


def test_third_order_through_cumprod():
    # srcad reads cumprod's second-order helper at third order; np.result_type had no rule
    # (refused, naming srcad's runtime.py)
    x = np.array([0.3, 0.7, 1.1])
    H = srcad.hessian(R.grad_norm_of_cumprod)(x)
    fd = numerical_grad(srcad.grad(R.grad_norm_of_cumprod), (x,), 0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)


def test_a_refusal_inside_srcads_own_code_names_the_users_function():
    # an error located in a runtime helper srcad differentiates again is re-located at the
    # user's function (the helper's place kept in the message), never srcad's file alone
    import os

    from srcad import pipeline, runtime
    inner = srcad.errors.NonDifferentiableError("no rule for np.foo()", runtime.__file__, 12)
    assert pipeline._in_own_code(inner)
    e = pipeline._relocated(inner, srcad.grad(R.cumprod_squares))
    assert type(e) is type(inner)
    assert e.filename == R.__file__ and e.lineno == R.cumprod_squares.__code__.co_firstlineno
    assert "no rule for np.foo()" in str(e) and "runtime.py:12" in str(e)
    assert os.path.basename(R.__file__) in str(e)


def test_calling_a_module_level_callable_object():
    # `MODEL(w, x)` of an object with a Python __call__ was refused ("cannot read its
    # source"), though `MODEL.apply(w, x)` worked: now it is the bound __call__
    w, x = np.array([0.3, -0.2]), np.array([[1.0, 2.0], [0.5, -1.0]])
    g = srcad.grad(R.model_loss)(w, x)
    np.testing.assert_allclose(g, numerical_grad(R.model_loss, (w, x), 0), rtol=1e-6)
    H = srcad.hessian(R.model_loss)(w, x)
    np.testing.assert_allclose(H, numerical_grad(srcad.grad(R.model_loss), (w, x), 0),
                               rtol=1e-5, atol=1e-7)
    _, t = srcad.jvp(R.model_loss, (w, x), (np.array([1.0, 0.0]), np.zeros((2, 2))))
    np.testing.assert_allclose(t, g[0], rtol=1e-10)
    old = R.MODEL
    try:
        R.MODEL.scale = 3.0                    # an attribute: read live
        np.testing.assert_allclose(srcad.grad(R.model_loss)(w, x), 2.25 * g, rtol=1e-12)
        R.MODEL = R.Other()                    # another object of another class: rebuilt
        np.testing.assert_allclose(srcad.grad(R.model_loss)(w, x),
                                   numerical_grad(R.model_loss, (w, x), 0), rtol=1e-6)
    finally:
        old.scale = 2.0
        R.MODEL = old


X3 = np.array([0.9, 0.2, 0.6])


@pytest.mark.parametrize("f, extra", [
    (R.fill_in_a_loop, ()), (R.sort_in_a_loop, (np.array([0.5, -1.0, 2.0]),)),
    (R.fill_after_use, ()), (R.add_at_in_a_loop, ()), (R.copyto_and_fill_diagonal, ()),
    (R.sorted_list_in_place, ())])
def test_numpys_in_place_changes_of_arrays_others_read(f, extra):
    # y.fill/y.sort/np.add.at/np.copyto/np.fill_diagonal changed y in place while the reverse
    # sweep still read values it had saved of y: silently wrong gradients (fill_in_a_loop gave
    # [3.4, 5.1, 6.8] for [1.4, 3.1, 4.8]); y.sort() and list.sort() were refused
    args = (X3,) + extra
    g = srcad.grad(f)(*args)
    np.testing.assert_allclose(g, numerical_grad(f, args, 0), rtol=1e-6, atol=1e-8)
    assert srcad.value_and_grad(f)(*args)[0] == f(*args)
    d = np.array([1.0, 0.3, -0.5])
    _, t = srcad.jvp(f, args, (d,) + tuple(0.0 * a for a in extra))
    np.testing.assert_allclose(t, g @ d, rtol=1e-6)
    if f is not R.sort_in_a_loop:     # (its second order is refused: srcad's own stacks)
        H = srcad.hessian(f)(*args)
        np.testing.assert_allclose(H, numerical_grad(srcad.grad(f), args, 0),
                                   rtol=1e-5, atol=1e-6)


def test_an_in_place_change_srcad_cannot_rebind_is_refused():
    # `params["W"].fill(0.0)` changes the caller's array; srcad's copy would not have
    with pytest.raises(srcad.SrcadError, match=r"regress_lead6.py:\d+: .*fill\(\) changes"):
        srcad.grad(R.fill_an_item_of_a_dict, wrt=1)({"W": np.ones(3)}, X3)


def test_scipy_overwrite_arguments_are_refused():
    # with a Fortran-ordered B, cho_factor(B, overwrite_a=True) overwrote B, which the
    # reverse sweep read: a silently wrong gradient
    pytest.importorskip("scipy")
    with pytest.raises(srcad.SrcadError, match=r"regress_lead6.py:\d+: .*overwrite_a="):
        srcad.grad(R.solve_overwriting)(X3)


def test_scipy_linalg_solve_reading_one_triangle():
    # scipy.linalg.solve had no rule: srcad read SciPy's source and refused with an error
    # located in SciPy's own file
    pytest.importorskip("scipy")
    g = srcad.grad(R.solve_positive)(X3)
    np.testing.assert_allclose(g, numerical_grad(R.solve_positive, (X3,), 0), rtol=1e-6)


def test_reverse_over_reverse_reads_an_adjoint_from_before_index_add():
    # fuzz 901:857: the first-order code adds in place (`y_bar_1 = index_add(y_bar, 0, g)`)
    # and its own derivative read y_bar afterwards (d(g / v)/dv): grad(grad) gave 0.845 for
    # 0.264; srcad's derivative of its code now adds on a copy
    y = np.array([-0.8, 0.5])
    gg = srcad.grad(srcad.grad(R.rebinds_its_parameter))(0.8, y)
    fd = numerical_grad(srcad.grad(R.rebinds_its_parameter), (0.8, y), 0)
    np.testing.assert_allclose(gg, fd, rtol=1e-6)
    np.testing.assert_allclose(srcad.hessian(R.rebinds_its_parameter)(0.8, y), fd, rtol=1e-6)


def test_a_helper_changing_an_array_it_is_given_twice_is_refused():
    # fuzz 901:2295: h(y, y) changes its first argument, and returns the second: Python's
    # result is the changed array, srcad's derivative of h computes a new value (gradient
    # [1, 1, 1] for [0, 0, 0], as autograd's)
    with pytest.raises(srcad.SrcadError, match=r"regress_lead6.py:\d+: _changes_first\(\) "
                                               r"changes its argument 'a0'"):
        srcad.grad(R.same_array_twice)(np.array([-0.4, -1.0, 1.0]))
