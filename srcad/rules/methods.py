"""The handbook of ndarray methods without an np.* function of the same arguments:
`x.reshape(2, 3)`, `x.transpose(1, 0)`, `x.flatten()`, `x.astype(dtype)`, `x.copy()`.

They print as the method call the user wrote. Methods that take their arguments spread
or as one sequence (`x.reshape(2, 3)` or `x.reshape((2, 3))`) name up to six of them
`a` ... `f`; `star_args` rebuilds the sequence. Other methods (.sum, .prod, .var, .clip,
.ravel, .squeeze, .dot, ...) share the rule of their np.* function, in its table.

Convention: a cast to an integer or boolean dtype carries no derivative (zero); a cast
between floating dtypes casts the derivative alike.
"""
import ast

from . import ANY, Rule, defrule


class MethodRule(Rule):
    """An ndarray method, printed as one: `x.reshape(2, 3)`."""

    def emit(self, args, kwargs, static, names) -> ast.expr:
        return ast.Call(func=ast.Attribute(value=args[0], attr=self.name, ctx=ast.Load()),
                        args=list(args[1:]),
                        keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


def defmethod(name: str, params: str, **rule) -> Rule:
    """Declare the rule of the ndarray method `name`, printed as a method call."""
    r = defrule([], params, name=name, method=name, **rule)
    r.__class__ = MethodRule
    return r


_SPREAD = "a=None, b=None, c=None, d=None, e=None, f=None"

defmethod("reshape", f"x, {_SPREAD}, order='C'", kind=ANY, storage="view",
          jvp="np.reshape(x_dot, np.shape(out), order=order)",
          jvp_batched="breshape(x_dot, out, order, BATCH, x)",
          vjp="unreshape(out_bar, x, order)")
defmethod("transpose", f"x, {_SPREAD}", kind=ANY, storage="view",
          jvp="np.transpose(x_dot, star_args(a, b, c, d, e, f))",
          jvp_batched="btranspose(x_dot, star_args(a, b, c, d, e, f))",
          vjp="untranspose(out_bar, star_args(a, b, c, d, e, f))")
defmethod("flatten", "x, order='C'", kind=ANY,
          jvp="np.ravel(x_dot, order)",
          jvp_batched="breshape(x_dot, out, order, BATCH, x)",
          vjp="unreshape(out_bar, x, order)")
defmethod("astype", "x, dtype", kind=ANY,
          jvp="cast_tangent(x_dot, out)",
          jvp_batched="bcast_tangent(x_dot, out, BATCH)",
          vjp="cast_adjoint(out_bar, out)")
# x.view() (no dtype: a reinterpretation of the bytes has no derivative) is a view of x
defmethod("view", "x", kind="first", storage="view", jvp="x_dot", vjp="out_bar")
# a copy's tangent is a copy too: the primal copy may be updated in place (`y[i] = v`), and
# so then is its tangent
defmethod("copy", "x, order='C'", kind="first", jvp="np.copy(x_dot)", vjp="out_bar",
          jvp_batched="np.copy(basarray(x_dot, x, BATCH))")
