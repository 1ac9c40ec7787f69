"""Errors srcad raises while building a derivative; each names the user's file:line."""
from __future__ import annotations


class SrcadError(Exception):
    """Base class of srcad's errors; `.filename` and `.lineno` locate the user's code."""

    def __init__(self, message: str, filename: str | None = None, lineno: int | None = None):
        self.filename = filename
        self.lineno = lineno
        self.bare_message = message
        where = f"{filename}:{lineno}: " if filename is not None and lineno is not None else ""
        super().__init__(where + message)


class UnsupportedSyntaxError(SrcadError):
    """A Python construct srcad does not differentiate (yet)."""


class NonDifferentiableError(SrcadError):
    """A call srcad has no derivative rule for and cannot read."""
