"""Unsupported code is refused when the derivative is built, with the user's file:line."""
import inspect
import os

import numpy as np
import pytest

import srcad
from srcad.testing import numerical_grad

from fixtures import error_funcs as ef
from fixtures import regress_lead6 as R

BASENAME = os.path.basename(ef.__file__)

UNSUPPORTED = [
    ef.uses_try,
    ef.uses_yield,
    ef.uses_lambda,
    ef.uses_global,
    ef.uses_nonlocal,
    ef.uses_attribute_assignment,
    ef.uses_item_assignment,
    ef.uses_dict_item_assignment,
    ef.uses_dict_update,
    ef.uses_async,
    ef.uses_math_gamma,
    ef.uses_np_random,
    # beyond the required list
    ef.uses_undefined_name,
    ef.uses_unknown_method,
    ef.uses_unknown_attribute,
    ef.uses_decorated_nested_def,
    ef.uses_star_args,
    ef.uses_raise,
    ef.uses_walrus,
    ef.uses_import,
    ef.uses_starred_call,
    ef.uses_local_call,
    ef.uses_set_display,
    ef.uses_matmul_augassign_item,
    ef.uses_class,
]


def marked_line(func):
    """The file line number of the line of `func` ending in `# ERR`."""
    lines, first = inspect.getsourcelines(func)
    hits = [first + k for k, line in enumerate(lines) if "# ERR" in line]
    assert len(hits) == 1, func.__name__
    return hits[0]


def check_error(err, line):
    assert isinstance(err, (srcad.UnsupportedSyntaxError, srcad.NonDifferentiableError)), \
        f"{type(err).__name__}: {err}"
    assert err.filename == ef.__file__
    assert err.lineno == line
    msg = str(err)
    assert f"{BASENAME}:{line}" in msg, msg


BUILDERS = {
    "derivative-reverse": lambda f: srcad.derivative(f),
    "derivative-forward": lambda f: srcad.derivative(f, mode="forward"),
    "source-reverse": lambda f: srcad.source(f),
    "source-forward": lambda f: srcad.source(f, mode="forward"),
    "ssa": lambda f: srcad.ssa(f),
}


@pytest.mark.parametrize("how", list(BUILDERS))
@pytest.mark.parametrize("func", UNSUPPORTED, ids=[f.__name__ for f in UNSUPPORTED])
def test_unsupported_construct_raises_at_build_time(func, how):
    if how == "ssa" and func in (ef.uses_math_gamma, ef.uses_np_random, ef.uses_unknown_method,
                                 ef.uses_unknown_attribute, ef.uses_dict_update, ef.uses_try):
        # (a try/except block is one such call, refused when a derivative flows into it)
        pytest.skip("a call without a derivative rule has a valid primal SSA form")
    with pytest.raises(srcad.SrcadError) as info:
        BUILDERS[how](func)
    check_error(info.value, marked_line(func))


@pytest.mark.parametrize("func", [ef.uses_try, ef.uses_walrus, ef.uses_math_gamma,
                                  ef.uses_np_random, ef.uses_item_assignment])
def test_unsupported_construct_raises_from_grad_call(func):
    g = srcad.grad(func)
    with pytest.raises(srcad.SrcadError) as info:
        g(np.array([0.5, 1.5]))
    check_error(info.value, marked_line(func))
    with pytest.raises(srcad.SrcadError) as info:
        srcad.jvp(func, (np.array([0.5, 1.5]),), (np.ones(2),))
    check_error(info.value, marked_line(func))


def test_call_without_rule_is_non_differentiable_error():
    for func in (ef.uses_math_gamma, ef.uses_np_random):
        with pytest.raises(srcad.NonDifferentiableError) as info:
            srcad.derivative(func)
        assert "gamma" in str(info.value) or "rand" in str(info.value)


def test_syntax_constructs_are_unsupported_syntax_errors():
    for func in (ef.uses_try, ef.uses_yield, ef.uses_lambda, ef.uses_walrus, ef.uses_global,
                 ef.uses_async):
        with pytest.raises(srcad.UnsupportedSyntaxError):
            srcad.derivative(func)


def test_error_in_helper_names_the_helper_line():
    with pytest.raises(srcad.SrcadError) as info:
        srcad.derivative(ef.calls_bad_helper)
    check_error(info.value, marked_line(ef.bad_helper))


CONSTRUCT_WORDS = [(ef.uses_try, "try"), (ef.uses_lambda, "lambda"),
                   (ef.uses_walrus, "assignment expression"), (ef.uses_global, "global"),
                   (ef.uses_nonlocal, "nonlocal"), (ef.uses_yield, "yield"),
                   (ef.uses_async, "async"), (ef.uses_math_gamma, "math.gamma"),
                   (ef.uses_np_random, "np.random.normal")]


@pytest.mark.parametrize("func, word", CONSTRUCT_WORDS,
                         ids=[f.__name__ for f, _ in CONSTRUCT_WORDS])
def test_error_message_names_the_construct(func, word):
    with pytest.raises(srcad.SrcadError) as info:
        srcad.derivative(func)
    assert word in str(info.value)


def test_errors_are_srcad_errors_not_builtins():
    assert issubclass(srcad.UnsupportedSyntaxError, srcad.SrcadError)
    assert issubclass(srcad.NonDifferentiableError, srcad.SrcadError)
    for cls in (KeyError, AttributeError, SyntaxError):
        assert not issubclass(srcad.SrcadError, cls)


def test_error_is_raised_again_on_a_second_attempt():
    for _ in range(2):
        with pytest.raises(srcad.UnsupportedSyntaxError):
            srcad.derivative(ef.uses_try)


def test_function_without_source_is_refused():
    namespace = {}
    exec("def no_source(x):\n    return x * x\n", namespace)
    with pytest.raises(srcad.SrcadError):
        srcad.derivative(namespace["no_source"])
    with pytest.raises(srcad.SrcadError):
        srcad.grad(np.sin)(1.0)


@pytest.mark.parametrize("func", [ef.uses_inplace_on_alias, ef.uses_inplace_on_row_view])
def test_inplace_update_of_a_shared_array_is_refused(func):
    # Python changes x through y (or through a row view); srcad computes y = y + 1 instead,
    # so it must refuse rather than differentiate a different function.
    with pytest.raises(srcad.UnsupportedSyntaxError) as info:
        srcad.grad(func)(np.ones((2, 3)))
    check_error(info.value, marked_line(func))
    assert "in place" in str(info.value)


def test_inplace_update_of_a_fresh_value_is_fine():
    def fresh(x, c):
        y = x * 2.0
        y += c
        return np.sum(y * y)
    x = np.linspace(0.1, 1.0, 4)
    assert np.allclose(srcad.grad(fresh)(x, 0.5), 4 * (2 * x + 0.5))


# regressions: refusals located in srcad's own code name the user's function (errors.py)
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
