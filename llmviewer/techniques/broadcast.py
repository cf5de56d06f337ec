"""Broadcasting for technique functions whose physics takes some arguments as single numbers.

:func:`broadcasting` wraps such a function so that it accepts numpy arrays there too, like
:func:`llmviewer.analyze`: when one of its ``scalar_only`` arguments is an array, the arrays among
those and the ``vectorised`` arguments are broadcast together and the function runs once per
element; the results (frozen dataclasses or dicts, nested dicts included) are put back together
field by field, each number becoming an array of the broadcast shape. Without such an array the
function is called as it is (its own vectorised path, unchanged results).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import LLMViewerError
from ..specs.workload import check_broadcast

MAX_ELEMENTS = 100_000
"""Most settings an element-wise broadcast evaluates in one call (each is one Python call)."""


def _is_array(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v) > 0


def _stack(results: list[Any], shape: tuple[int, ...]) -> Any:
    first = results[0]
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        fields = {f.name: _stack([getattr(r, f.name) for r in results], shape) for f in dataclasses.fields(first)}
        out = object.__new__(type(first))  # no re-validation: every element was validated
        for k, v in fields.items():
            object.__setattr__(out, k, v)
        return out
    if isinstance(first, dict):
        return type(first)({k: _stack([r[k] for r in results], shape) for k in first})
    if type(first) is tuple:
        return tuple(_stack([r[i] for r in results], shape) for i in range(len(first)))
    if all(isinstance(r, (int, float, np.number, np.bool_, bool, np.ndarray)) for r in results):
        arr = np.asarray(results)
        return arr.reshape(shape + arr.shape[1:])
    if all(_equal(r, first) for r in results):
        return first  # the same for every element (a name, a model)
    return np.asarray(results, dtype=object).reshape(shape)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return a is b


def broadcasting(scalar_only: Sequence[str], vectorised: Sequence[str] = ()) -> Callable:
    """Decorator: the function also accepts arrays for its ``scalar_only`` arguments (see the
    module docstring); ``vectorised`` names the arguments it already takes as arrays, which then
    broadcast with them."""

    def wrap(fn: Callable) -> Callable:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            if not any(_is_array(bound.arguments.get(k)) for k in scalar_only):
                return fn(*args, **kwargs)
            names = [k for k in (*scalar_only, *vectorised) if _is_array(bound.arguments.get(k))]
            shape = check_broadcast(**{k: bound.arguments[k] for k in names})
            n = int(np.prod(shape))
            if n > MAX_ELEMENTS:
                raise LLMViewerError(
                    f"{fn.__name__}: {' x '.join(names)} broadcast to {n:,} settings, each evaluated on its own: "
                    f"at most {MAX_ELEMENTS:,} per call"
                )
            grids = {k: np.broadcast_to(np.asarray(bound.arguments[k]), shape) for k in names}
            results = []
            for idx in np.ndindex(*shape):
                one = sig.bind(*args, **kwargs)
                for k in names:
                    one.arguments[k] = grids[k][idx].item()
                results.append(fn(*one.args, **one.kwargs))
            return _stack(results, shape)

        call.__doc__ = (fn.__doc__ or "") + (
            f"\n\n    Broadcasts: {', '.join((*scalar_only, *vectorised))} may be numpy arrays (one evaluation"
            f" per element for {', '.join(scalar_only)})."
        )
        return call

    return wrap
