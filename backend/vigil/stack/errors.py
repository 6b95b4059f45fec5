"""Errors of the native stack."""

from __future__ import annotations


class StackError(RuntimeError):
    """A part of the stack could not be prepared, started or stopped; the message says why."""


class RenderError(StackError):
    """A config file no longer has the shape native mode rewrites (e.g. a host was renamed)."""
