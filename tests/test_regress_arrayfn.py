"""Regressions of the array-function table (srcad/rules/arrays.py): the README's list of
supported functions is the rule tables', second derivatives through the table's helpers,
and the conventions its docstring states, checked in both modes."""
import os

import numpy as np
import pytest

import srcad
from fixtures import regress_arrayfn as fx
from srcad.rules import catalog

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_lists_the_rule_tables():
    pytest.importorskip("scipy")                       # the list includes the SciPy tables
    text = open(README, encoding="utf-8").read()
    head, sep, rest = text.partition(catalog.BEGIN)
    section = sep + rest.partition(catalog.END)[0] + catalog.END
    assert sep and section == catalog.markdown(), \
        "README.md's supported functions differ from the tables: run " \
        "`python -m srcad.rules --write README.md`"


def test_readme_names_every_table_rule():
    pytest.importorskip("scipy")
    listed = catalog.markdown()
    for f in ("`np.sort`", "`np.add.reduce`", "`np.r_[...]`", "`np.sum`", "`+`", "`.T`",
              "`scipy.special.expit`", "`np.linalg.solve`"):
        assert f in listed, f


@pytest.mark.parametrize("f", fx.SECOND, ids=lambda f: f.__name__)
def test_second_order(f):
    with np.errstate(all="ignore"):
        srcad.testing.check_grads(srcad.grad(f), fx.X, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------ the table's conventions
def both(f, *args, wrt=0):
    """The Jacobian of `f` w.r.t. argument `wrt` in reverse and in forward mode."""
    with np.errstate(all="ignore"):
        return [np.asarray(srcad.jacrev(f, wrt=wrt)(*args), dtype=float),
                np.asarray(srcad.jacfwd(f, wrt=wrt)(*args), dtype=float)]


def assert_both(f, args, want, wrt=0):
    for got in both(f, *args, wrt=wrt):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_heaviside_jump_has_no_derivative_in_x1():
    x1, x2 = np.array([-1.0, 0.0, 2.0]), np.array([0.3, 0.4, 0.5])
    assert_both(fx.heaviside_both, (x1, x2), np.zeros((3, 3)), wrt=0)
    assert_both(fx.heaviside_both, (x1, x2), np.diag([0.0, 1.0, 0.0]), wrt=1)


def test_sort_ties_follow_a_stable_sort():
    want = np.zeros((4, 4))
    for i, j in enumerate([1, 2, 0, 3]):                  # np.argsort([2, 1, 1, 3], stable)
        want[i, j] = 1.0
    assert_both(fx.sort_ties, (np.array([2.0, 1.0, 1.0, 3.0]),), want)


def test_median_of_an_even_count_weighs_both_middle_entries():
    assert_both(fx.median_even, (np.array([4.0, 1.0, 3.0, 2.0]),), [0.0, 0.0, 0.5, 0.5])


def test_interp_slope_at_knots_and_outside():
    fp = np.array([0.0, 2.0, 8.0])                        # slopes 2 on [0, 1], 3 on [1, 3]
    x = np.array([1.0, 3.0, -1.0, 0.5])
    assert_both(fx.interp_at_knots, (x, fp), np.diag([3.0, 3.0, 0.0, 2.0]))


def test_mod_and_fmod_in_y():
    x, y = np.array([-2.5, 2.5]), np.array([0.7, 0.7])
    want = -np.floor(x / y) - np.trunc(x / y)             # mod: -(x // y), fmod: -trunc(x / y)
    assert_both(fx.mod_y, (x, y), np.diag(want), wrt=1)
    assert_both(fx.mod_y, (x, y), 2.0 * np.eye(2), wrt=0)


def test_sinc_derivative_at_zero_is_zero():
    # sinc'(x) = (cos(pi x) - sinc(x)) / x: -4 / pi at 1/2
    assert_both(fx.sinc_at_zero, (np.array([0.0, 0.5]),), np.diag([0.0, -4.0 / np.pi]))


def test_unsupported_pad_mode_and_gradient_layout_say_so():
    with pytest.raises(NotImplementedError, match="np.pad with mode"):
        srcad.jacrev(fx.pad_other_mode)(np.array([1.0, 2.0]))
    with pytest.raises(NotImplementedError, match="np.gradient of one axis"):
        srcad.grad(lambda x: np.sum(fx.gradient_of_matrix(x)[0]))(np.ones((3, 3)))


def test_quantile_q_and_r_directive_are_refused():
    with pytest.raises(srcad.SrcadError, match="'q'"):
        srcad.grad(fx.percentile_in_q, wrt=1)(np.array([1.0, 2.0, 3.0]), 40.0)
    with pytest.raises(srcad.UnsupportedSyntaxError, match="directive"):
        srcad.jacrev(fx.r_directive)(np.array([1.0, 2.0]))


def test_add_at_adds_in_place_and_is_refused_where_another_name_shares_it():
    v = 0.5
    for mode in (srcad.jacrev, srcad.jacfwd):
        # (x + [2 v, 0]) * v: d/dv = x + [2 v, 0] + [2 v, 0] at x = [1, 2]
        got = mode(fx.add_at_argument, wrt=1)(np.array([1.0, 2.0]), v)
        np.testing.assert_allclose(got, [1.0 + 4 * v, 2.0])
        with pytest.raises(srcad.UnsupportedSyntaxError, match="may share it"):
            mode(fx.add_at_copy_read_after, wrt=1)(np.array([1.0, 2.0]), v)


def test_a_derivative_calling_a_ufunc_method_is_reused():
    # np.add.reduce is a new bound method object at each access: the validity check of a
    # cached derivative compares it by ==, not `is` (it was rebuilt on every call)
    from srcad import pipeline
    kinds = (pipeline.kind_of(fx.X),)
    first = pipeline.get(fx.second_ufuncs, "reverse", (0,), kinds)
    assert pipeline.get(fx.second_ufuncs, "reverse", (0,), kinds).func is first.func
