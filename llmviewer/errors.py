"""Errors raised for bad input, and the closest-name suggestions they carry."""

from __future__ import annotations

from collections.abc import Iterable


class LLMViewerError(ValueError):
    """Bad input to llmviewer: the message names the problem and what would be valid."""


def closest_names(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``choices`` that look most like ``name`` (case-insensitive)."""
    import difflib

    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.4)
    contains = [c for c in choices if name.lower() in c.lower() and c not in hits]
    return ([lowered[h] for h in hits] + contains)[:n]


def unknown_name_error(kind: str, name: str, choices: Iterable[str], list_command: str) -> LLMViewerError:
    """Build the error for an unknown model or device name, suggesting the closest ones."""
    choices = sorted(choices)
    near = closest_names(name, choices) if len(name) <= 200 else []
    hint = f"; did you mean {', '.join(repr(c) for c in near)}?" if near else ""
    shown = repr(name) if len(name) <= 80 else f"{name[:60]!r}... ({len(name)} characters)"
    return LLMViewerError(f"unknown {kind} {shown}{hint} (`{list_command}` lists the {len(choices)} available)")
