"""Rules for containers: dicts, dataclasses, NamedTuples and objects, whose derivatives have
their structure (a dict of per-key derivatives, runtime.Fields, for a dict, a dataclass or an
object; a list of per-item derivatives, runtime.Items, for a list, tuple or NamedTuple).

`x.name` of a container is GETATTR: its tangent is that field of x's tangent, its adjoint
x's zero derivative with the adjoint at that field. A dict display is `make_dict(keys,
values)`; `d[k] = v` on a local list or dict is `d = set_item(d, k, v)`, a new value
(srcad's value form, as `xs.append(v)` is `xs = [*xs, v]`). `d.values()`, `d.items()`
and `d.keys()` are lists (dict_values, ...), in d's order; a key's derivative is 0.0.
"""
import ast

from .. import runtime
from . import ANY, NONE, Rule, Template, _REQUIRED, defrule, deflinear


class AttrRule(Rule):
    """`x.name` for a constant attribute name (the call's second argument), printed so."""

    def emit(self, args, kwargs, static, names) -> ast.expr:
        return ast.Attribute(value=args[0], attr=args[1].value, ctx=ast.Load())


# the result is a field x holds; never reused (another object may have changed it)
GETATTR = AttrRule(key=("container", "getattr"), params=[("x", _REQUIRED), ("name", _REQUIRED)],
                   kind=ANY, storage="view", storage_args=("x",), pure=False,
                   jvp={"x": Template("attr_of(x_dot, x, name)")},
                   vjp={"x": Template("unattr(out_bar, x, name)")})
deflinear(runtime.attr_of, "t, x, name", vjp="unattr(out_bar, x, name)", shape_args="x",
          zero_in="name")
deflinear(runtime.unattr, "g, x, name", vjp="attr_of(out_bar, x, name)", shape_args="x",
          returns_seq=True, zero_in="name")

# {k0: v0, k1: v1}: values is a list (a pack), keys a tuple
MAKE_DICT = defrule(runtime.make_dict, "keys, values", name="make_dict", kind=ANY,
                    holds="*values", returns_seq=True,
                    jvp={"values": "make_dict(keys, values_dot)"},
                    vjp={"values": "undict(out_bar, keys)"}, zero_in="keys")
deflinear(runtime.undict, "g, keys", vjp="make_dict(keys, out_bar)", returns_seq=True,
          zero_in="keys")

# d[k] = v on a local list or dict, as a new value
SET_ITEM = defrule(runtime.set_item, "xs, key, v", name="set_item", kind=ANY,
                   holds="*xs, v", returns_seq=True,
                   jvp={"xs": "set_item(xs_dot, key, 0.0)", "v": "unindex(v_dot, out, key)"},
                   vjp={"xs": "unset_item(out_bar, xs, key)",
                        "v": "unbroadcast(out_bar[key], v)"}, zero_in="key")
deflinear(runtime.unset_item, "g, xs, key", vjp="unset_item(out_bar, xs, key)",
          shape_args="xs", returns_seq=True, zero_in="key")

# d.values(), d.items() (as lists, in d's order), d.keys() (no derivative)
defrule(runtime.dict_values, "d", name="dict_values", kind=ANY, method="values",
        holds="*d", returns_seq=True,
        jvp="dict_values_of(d_dot, d)", vjp="undict_values(out_bar, d)")
defrule(runtime.dict_items, "d", name="dict_items", kind=ANY, method="items",
        holds="*d", returns_seq=True,
        jvp="dict_pairs_of(d_dot, d)", vjp="undict_items(out_bar, d)")
defrule(runtime.dict_keys, "d", name="dict_keys", kind=NONE, method="keys",
        differentiable=False)
deflinear(runtime.dict_values_of, "t, d", vjp="undict_values(out_bar, d)", shape_args="d",
          returns_seq=True)
deflinear(runtime.undict_values, "g, d", vjp="dict_values_of(out_bar, d)", shape_args="d",
          returns_seq=True)
deflinear(runtime.dict_pairs_of, "t, d", vjp="undict_items(out_bar, d)", shape_args="d",
          returns_seq=True)
deflinear(runtime.undict_items, "g, d", vjp="dict_pairs_of(out_bar, d)", shape_args="d",
          returns_seq=True)

# Cls(a=x, b=y) of a NamedTuple or dataclass: its fields' values in order
MAKE_RECORD = defrule(runtime.record_of, "cls, keys, values", name="record_of", kind=ANY,
                      holds="*values", returns_seq=True,
                      jvp={"values": "record_dot(cls, keys, values_dot)"},
                      vjp={"values": "unrecord(out_bar, cls, keys)"}, zero_in="cls, keys")
defrule(runtime.record_dot, "cls, keys, values", name="record_dot", kind=ANY, returns_seq=True,
        jvp={"values": "record_dot(cls, keys, values_dot)"},
        vjp={"values": "unrecord(out_bar, cls, keys)"}, zero_in="cls, keys")
deflinear(runtime.unrecord, "g, cls, keys", vjp="record_dot(cls, keys, out_bar)",
          returns_seq=True, zero_in="cls, keys")

# xs + ys where one operand is surely a list or tuple: a concatenation, whose derivatives
# split and place items (and that of an addition, where an array meets a list display);
# printed as a call: differentiated again, generated code must not read as arithmetic
SEQ_CONCAT = defrule(runtime.seq_concat, "xs, ys", name="seq_concat",
                     kind=ANY, holds="*xs, *ys", returns_seq=True,
                     jvp={"xs": "concat_place(xs_dot, xs, ys, 0)",
                          "ys": "concat_place(ys_dot, xs, ys, 1)"},
                     vjp={"xs": "concat_part(out_bar, xs, ys, 0)",
                          "ys": "concat_part(out_bar, xs, ys, 1)"})
# forward mode's tangent of xs + ys (forward.py), linear in t and u together
defrule(runtime.concat_tangent, "t, u, xs, ys", name="concat_tangent", kind=ANY,
        shape_args="xs, ys", returns_seq=True,
        jvp={"t": "concat_tangent(t_dot, zeros_like(u), xs, ys)",
             "u": "concat_tangent(zeros_like(t), u_dot, xs, ys)"},
        vjp={"t": "concat_part(out_bar, xs, ys, 0)", "u": "concat_part(out_bar, xs, ys, 1)"})
# `a, b = x`: its adjoint gathers the items' adjoints (into x's rows where x is an array)
deflinear(runtime.unpacked, "gs, like", vjp="unpacked_items(out_bar, like)", shape_args="like",
          reads_items=True, seq_item="gs")
deflinear(runtime.unpacked_items, "g, like", vjp="unpacked(out_bar, like)", shape_args="like",
          returns_seq=True)
# the same where x is known to be an array (activity's unpacks): its rows, no check
deflinear(runtime.unpacked_rows, "gs, like", vjp="unpacked_items(out_bar, like)",
          shape_args="like", reads_items=True)
# (*xs, v): the list srcad builds, as a tuple; its adjoint is the list's, item by item
TUPLE_OF = deflinear(runtime.tuple_of, "xs", vjp="out_bar", kind="list", holds="*xs",
                     returns_seq=True)
deflinear(runtime.concat_place, "t, xs, ys, which", vjp="concat_part(out_bar, xs, ys, which)",
          shape_args="xs, ys", returns_seq=True, zero_in="which")
deflinear(runtime.concat_part, "g, xs, ys, which", vjp="concat_place(out_bar, xs, ys, which)",
          shape_args="xs, ys", returns_seq=True, zero_in="which")
# what a functools.partial binds (p.args[k], p.keywords[k]): a constant, read live
PARTIAL_ARG = defrule(runtime.partial_arg, "p, key", name="partial_arg", kind=ANY,
                      differentiable=False)
# f(*xs) spread into n parameters: xs itself, checked for length
REQUIRE_LEN = defrule(runtime.require_len, "xs, n, what", name="require_len", kind="first",
                      storage="same", passthrough=True, returns_seq=True,
                      jvp="xs_dot", vjp="out_bar", zero_in="n, what")
# a global's list of objects, checked to hold what it held when the derivative was built
HELD_AS = defrule(runtime.held_as, "xs, kind, where", name="held_as", kind="first",
                  storage="same", passthrough=True, returns_seq=True,
                  jvp="xs_dot", vjp="out_bar", zero_in="kind, where")
# xs * n where xs is surely a list or tuple: the items repeated for an int count
# (an int n has no derivative; a float or array n makes it a product, differentiated so)
SEQ_REPEAT = defrule(runtime.seq_repeat, "xs, n", name="seq_repeat", kind=ANY, holds="*xs",
                     returns_seq=True,
                     jvp={"xs": "repeat_seq_tangent(xs_dot, xs, n)", "n": "xs * n_dot"},
                     vjp={"xs": "unrepeat_seq(out_bar, xs, n)",
                          "n": "unbroadcast(xs * out_bar, n)"})
deflinear(runtime.repeat_seq_tangent, "t, xs, n", vjp="unrepeat_seq(out_bar, xs, n)",
          shape_args="xs", returns_seq=True, zero_in="n")
deflinear(runtime.unrepeat_seq, "g, xs, n", vjp="repeat_seq_tangent(out_bar, xs, n)",
          shape_args="xs", returns_seq=True, zero_in="n")
