"""Requests arriving over time: when they arrive, how long their prompts are, how many tokens they generate.

Three arrival processes: ``poisson`` (exponential gaps at ``rate`` requests/s), ``gamma`` (gamma gaps of
mean ``1/rate`` and coefficient of variation ``cv``; ``cv > 1`` is burstier than Poisson, ``cv = 1`` is
Poisson, ``cv < 1`` smoother), and ``trace`` (a CSV or JSONL file of arrival time, prompt length and output
length; see :func:`load_trace`). Prompt and output lengths are fixed, drawn from a :class:`Lengths`
distribution, or read from the trace.

Randomness: one seed, split (``numpy.random.SeedSequence.spawn``) into independent streams for the gaps,
the prompt lengths and the output lengths, so that changing one (say the rate) leaves the others' draws
unchanged: sweeps compare configurations on the same requests (common random numbers). The same seed
gives the same requests on every machine and run.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from llmviewer.errors import LLMViewerError
from llmviewer.paths import read_text

LENGTH_KINDS = ("fixed", "uniform", "lognormal")
ARRIVALS = ("poisson", "gamma", "trace")
TRACE_COLUMNS = {
    "arrival_time": ("arrival_time", "arrival", "timestamp", "time"),
    "prompt_len": ("prompt_len", "prompt_tokens", "input_len", "input_length", "input_tokens"),
    "output_len": ("output_len", "output_tokens", "output_length", "gen_len", "generated_tokens"),
}
"""The trace's three fields (seconds, tokens, tokens) and the column names accepted for each."""


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise LLMViewerError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(name: str, value: Any, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise LLMViewerError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Lengths:
    """A distribution of token counts (prompt or output lengths), integers >= 1.

    ``fixed``: always ``mean``. ``uniform``: integers uniform on ``[low, high]``. ``lognormal``: the
    exponential of a normal with standard deviation ``sigma`` (of the log), scaled so that the mean
    before rounding is ``mean``, rounded to integers and clipped to ``[low, high]``. Build with
    :meth:`fixed`, :meth:`uniform` or :meth:`lognormal`."""

    kind: str = "fixed"
    mean: float = 1024.0
    low: int = 1
    high: int | None = None
    sigma: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in LENGTH_KINDS:
            raise LLMViewerError(f"length distribution must be one of {', '.join(LENGTH_KINDS)}, got {self.kind!r}")
        _positive_float("mean length", self.mean)
        _positive_int("lowest length", self.low)
        if self.high is not None and _positive_int("highest length", self.high) < self.low:
            raise LLMViewerError(f"highest length {self.high} is below the lowest {self.low}")
        if self.kind == "fixed" and float(self.mean) != int(self.mean):
            raise LLMViewerError(f"a fixed length must be a whole number of tokens, got {self.mean!r}")
        _positive_float("sigma", self.sigma, allow_zero=True)

    @classmethod
    def fixed(cls, tokens: int) -> Lengths:
        """Every request has ``tokens`` tokens."""
        return cls("fixed", float(_positive_int("length", tokens)), low=1)

    @classmethod
    def uniform(cls, low: int, high: int) -> Lengths:
        """Integers uniform on ``[low, high]`` tokens (mean ``(low + high) / 2``)."""
        return cls("uniform", (low + high) / 2, low=low, high=high)

    @classmethod
    def lognormal(cls, mean: float, sigma: float = 0.5, low: int = 1, high: int | None = None) -> Lengths:
        """Log-normal token counts of mean ``mean`` (before rounding and clipping), log-sd ``sigma``,
        clipped to ``[low, high]`` (``high`` defaults to 16 x mean)."""
        return cls("lognormal", mean, low=low, high=high if high is not None else max(int(16 * mean), low), sigma=sigma)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` token counts (int64) drawn with ``rng``."""
        if self.kind == "fixed":
            return np.full(n, int(self.mean), dtype=np.int64)
        if self.kind == "uniform":
            return rng.integers(self.low, self.high, size=n, endpoint=True, dtype=np.int64)
        mu = math.log(self.mean) - self.sigma**2 / 2
        x = np.rint(rng.lognormal(mu, self.sigma, size=n))
        return np.clip(x, self.low, self.high if self.high is not None else np.inf).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def as_lengths(value: int | Lengths, name: str) -> Lengths:
    """``value`` as a :class:`Lengths` (an integer is a fixed length)."""
    if isinstance(value, Lengths):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 1:
            raise LLMViewerError(f"{name} must be a positive integer, got {value!r}")
        return Lengths.fixed(int(value))
    raise LLMViewerError(f"{name} must be a positive integer or a Lengths distribution, got {value!r}")


@dataclass(frozen=True)
class Requests:
    """A list of requests in arrival order: ``arrival`` (seconds), ``prompt_len`` and ``output_len``
    (tokens, output >= 1; the first output token comes from the prefill)."""

    arrival: np.ndarray = field(repr=False)
    prompt_len: np.ndarray = field(repr=False)
    output_len: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.arrival)

    def subset(self, index: np.ndarray) -> Requests:
        """The requests at positions ``index`` (kept in that order)."""
        return Requests(self.arrival[index], self.prompt_len[index], self.output_len[index])

    def to_dataframe(self):  # noqa: ANN201 - pandas is imported lazily
        """One row per request: arrival (s), prompt_len and output_len (tokens)."""
        import pandas as pd

        return pd.DataFrame({"arrival": self.arrival, "prompt_len": self.prompt_len, "output_len": self.output_len})


def make_requests(arrival: Any, prompt_len: Any, output_len: Any) -> Requests:
    """Validated :class:`Requests` from three equal-length sequences (seconds, tokens, tokens), sorted by
    arrival (stable)."""
    a = np.asarray(arrival, dtype=np.float64)
    p = np.asarray(prompt_len)
    o = np.asarray(output_len)
    if not (a.ndim == p.ndim == o.ndim == 1 and len(a) == len(p) == len(o)):
        raise LLMViewerError("arrival, prompt_len and output_len must be 1-D and of equal length")
    if len(a) == 0:
        raise LLMViewerError("no requests")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise LLMViewerError("arrival times must be finite and non-negative (seconds)")
    for name, x in (("prompt_len", p), ("output_len", o)):
        if not np.all(np.isfinite(x)) or np.any(x != np.round(x)) or np.any(x < 1):
            raise LLMViewerError(f"{name} must hold integers >= 1")
    order = np.argsort(a, kind="stable")
    return Requests(a[order], p[order].astype(np.int64), o[order].astype(np.int64))


MAX_TRACE_BYTES = 1 << 30
"""Largest trace file read (bytes)."""


def _trace_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) for every request line of a CSV or JSONL trace."""
    text = read_text(path, "CSV or JSONL trace", MAX_TRACE_BYTES)
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise LLMViewerError(f"{path}:{number}: not a JSON object ({e.msg})") from None
            if not isinstance(record, dict):
                raise LLMViewerError(f"{path}:{number}: expected a JSON object per line")
            rows.append((number, record))
        return rows
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and line[0] != "#"]
    if not lines:
        return rows
    reader = csv.DictReader([line for _, line in lines])
    for (number, _), record in zip(lines[1:], reader, strict=True):
        if None in record or any(v is None for v in record.values()):
            raise LLMViewerError(f"{path}:{number}: expected {len(reader.fieldnames or [])} comma-separated fields")
        rows.append((number, record))
    return rows


def _field(record: dict[str, Any], key: str, where: str) -> Any:
    for name in TRACE_COLUMNS[key]:
        if name in record:
            return record[name]
    raise LLMViewerError(f"{where}: missing {key!r} (accepted names: {', '.join(TRACE_COLUMNS[key])})")


def _number(value: Any, key: str, where: str, integer: bool) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise LLMViewerError(f"{where}: {key} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < 0 or (integer and (x != int(x) or x < 1)):
        kind = "a positive integer" if integer else "a non-negative number of seconds"
        raise LLMViewerError(f"{where}: {key} must be {kind}, got {value!r}")
    return x


def load_trace(path: str | Path) -> Requests:
    """Requests from a trace file: CSV with a header, or JSONL (one object per line), with the fields
    ``arrival_time`` (seconds from the start), ``prompt_len`` and ``output_len`` (tokens; other names
    accepted: :data:`TRACE_COLUMNS`). Lines starting with ``#`` are comments in CSV. Rows are sorted by
    arrival. A malformed line raises :class:`~llmviewer.errors.LLMViewerError` naming the file and line."""
    path = Path(path)
    if not path.is_file():
        try:
            present = path.exists() or path.is_symlink()
        except OSError:
            present = True
        what = "is a folder, a device or a broken link, not a trace" if present else "not found"
        raise LLMViewerError(f"trace file {str(path)!r} {what}")
    rows = _trace_rows(path)
    if not rows:
        raise LLMViewerError(f"{path}: the trace holds no requests")
    cols: dict[str, list[float]] = {k: [] for k in TRACE_COLUMNS}
    for number, record in rows:
        where = f"{path}:{number}"
        for key in TRACE_COLUMNS:
            cols[key].append(_number(_field(record, key, where), key, where, integer=key != "arrival_time"))
    return make_requests(cols["arrival_time"], cols["prompt_len"], cols["output_len"])


def save_trace(requests: Requests, path: str | Path, comment: str | None = None) -> None:
    """Write ``requests`` as a CSV trace (arrival_time in seconds with microsecond precision, lengths in
    tokens), with an optional ``#`` comment line first; :func:`load_trace` reads it back."""
    with open(path, "w", newline="") as f:
        if comment:
            for line in comment.splitlines():
                f.write(f"# {line}\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["arrival_time", "prompt_len", "output_len"])
        for a, p, o in zip(requests.arrival, requests.prompt_len, requests.output_len, strict=True):
            w.writerow([f"{a:.6f}", int(p), int(o)])


@dataclass(frozen=True)
class Workload:
    """How requests arrive and how long they are.

    ``requests``: how many (for a trace: at most this many, from its start; None = all). ``rate``:
    mean arrival rate in requests/s (required for ``poisson`` and ``gamma``; with a trace it rescales
    the trace's arrival times to this mean rate, keeping their pattern); ``math.inf``: every request
    arrives at once (time 0, or the trace's first arrival), as benchmarks' "request rate inf". ``arrival``: ``poisson``,
    ``gamma`` (gaps with coefficient of variation ``cv``) or ``trace`` (file ``trace``; chosen
    automatically when ``trace`` is given). ``prompt`` and ``output``: token counts, fixed integers
    or :class:`Lengths` (ignored for a trace). ``seed``: the random seed (numpy Generator)."""

    requests: int | None = 1000
    rate: float | None = None
    arrival: str = "poisson"
    cv: float = 1.0
    prompt: int | Lengths = 1024
    output: int | Lengths = 256
    trace: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        arrival = "trace" if self.trace is not None else self.arrival
        object.__setattr__(self, "arrival", arrival)
        if arrival not in ARRIVALS:
            raise LLMViewerError(f"arrival must be one of {', '.join(ARRIVALS)}, got {self.arrival!r}")
        if self.requests is not None:
            _positive_int("the number of requests", self.requests)
        elif arrival != "trace":
            raise LLMViewerError("the number of requests is needed unless the requests come from a trace")
        if self.rate is None:
            if arrival != "trace":
                raise LLMViewerError(f"{arrival} arrivals need a rate (requests/s)")
        elif not (isinstance(self.rate, (int, float)) and self.rate == math.inf):
            _positive_float("the arrival rate (requests/s)", self.rate)
        if arrival == "gamma":
            _positive_float("the coefficient of variation of the gaps", self.cv)
        if arrival == "trace" and self.trace is None:
            raise LLMViewerError("arrival 'trace' needs a trace file")
        object.__setattr__(self, "prompt", as_lengths(self.prompt, "prompt length"))
        object.__setattr__(self, "output", as_lengths(self.output, "output length"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise LLMViewerError(f"seed must be a non-negative integer, got {self.seed!r}")

    def sample(self) -> Requests:
        """The requests (deterministic for a given seed)."""
        if self.arrival == "trace":
            reqs = load_trace(self.trace)
            if self.requests is not None:
                reqs = reqs.subset(np.arange(min(self.requests, len(reqs))))
            if self.rate == math.inf:
                return Requests(np.full(len(reqs), reqs.arrival[0]), reqs.prompt_len, reqs.output_len)
            if self.rate is not None and len(reqs) > 1:
                span = reqs.arrival[-1] - reqs.arrival[0]
                if span <= 0:
                    raise LLMViewerError("cannot rescale a trace whose requests all arrive at once")
                scale = (len(reqs) - 1) / span / self.rate  # trace's mean rate / wanted rate
                arrival = reqs.arrival[0] + (reqs.arrival - reqs.arrival[0]) * scale
                reqs = Requests(arrival, reqs.prompt_len, reqs.output_len)
            return reqs
        gaps_rng, prompt_rng, output_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(3)
        )
        n = self.requests
        if self.rate == math.inf:
            gaps = np.zeros(n)
        elif self.arrival == "poisson":
            gaps = gaps_rng.exponential(1 / self.rate, size=n)
        else:
            shape = 1 / self.cv**2
            gaps = gaps_rng.gamma(shape, 1 / (self.rate * shape), size=n)
        return Requests(np.cumsum(gaps), self.prompt.sample(prompt_rng, n), self.output.sample(output_rng, n))

    def with_rate(self, rate: float) -> Workload:
        """The same workload at another arrival rate (requests/s); the same seed, so the same lengths."""
        return replace(self, rate=rate)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (an infinite rate as the string ``"inf"``)."""
        out = asdict(self)
        out["prompt"], out["output"] = self.prompt.to_dict(), self.output.to_dict()
        if self.rate == math.inf:
            out["rate"] = "inf"
        return out
