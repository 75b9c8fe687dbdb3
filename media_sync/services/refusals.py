"""The app-wide refusal: a request turned down before any provider call."""

from __future__ import annotations


class InputRefused(ValueError):
    """The request was refused before any provider call: nothing was sent, nothing was written."""
