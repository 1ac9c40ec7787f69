"""Seeing the computation: graphs of the SSA, evaluation traces, standalone derivative modules.

`srcad.graph`, `srcad.trace` and `srcad.export` (one module each here) are built from the
same passes as srcad's derivatives; nothing here runs unless they are called.
"""
