"""The time of one engine step (iteration) of continuous batching, from the roofline engine, for many steps at once.

A step runs one forward pass over a mix of sequences: decode sequences (one new token each, with their own
number of cached tokens) and prefill chunks (``n`` new tokens after ``p`` cached ones). The engine counts each
operator's OPs and bytes for a uniform :class:`~llmviewer.workload.Pass`; a mixed step adds its parts up, with
the weights read once for the whole step (as :func:`llmviewer.serving.chunked_prefill_pass` does).

Every operator's OPs, memory bytes and link bytes in such a step depend on five numbers only:

* ``T``, the tokens of the step (every linear layer, norm, activation, embedding, all-reduce; MoE expert
  weights through the expected number of experts ``T`` tokens touch, which is not linear in ``T``);
* ``S``, the positions that go through ``lm_head`` (one per sequence that emits a token);
* per attention window ``w`` (full attention, and the sliding window if the model has one):
  ``K_w`` = sum over sequences of the keys each reads, ``min(p + n, w)``, and ``Q_w`` = sum of the query-key
  pairs each computes (``n * min(p + n, w)``, or the causal triangle with ``causal_attention``).

So this module asks the engine (:func:`llmviewer.analysis.count_pass`) once for a table over ``T`` (a pass of
``T`` one-token sequences with nothing cached and no logits) and for the slopes in ``S``, ``K_w`` and ``Q_w``
(differences of small probe passes of equal ``T``), and then evaluates any number of steps with array
arithmetic. The time of each operator is the engine's own roofline (:func:`llmviewer.roofline.op_terms`: compute,
memory, link, per-instance overhead; pure or calibrated), summed over the model. The decomposition is exact, not
an interpolation: ``tests/test_simulator.py`` checks it against the engine's uniform passes (prefill, decode,
sliding windows, MoE, tensor parallel, calibrated) and against :func:`llmviewer.serving.chunked_prefill_pass`
to 1e-12. DeepSeek-style latent attention uses the absorbed layout for every token of a step (the engine's
decode layout; engines use the expanded one for long prefills), an approximation for prefill.

Pipeline parallelism (``pp`` stages): a step goes through every stage in turn, so its latency is the whole
model's per-device time (each stage holds ``1/pp`` of the layers) plus ``pp - 1`` transfers of the step's
hidden states over the link (``T x hidden x activation bytes`` each).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmviewer.engine.analysis import count_pass
from llmviewer.engine.efficiency import PURE, Efficiency
from llmviewer.engine.operators import StateUpdate
from llmviewer.engine.roofline import link_bandwidth, op_terms, peak_for_bits
from llmviewer.errors import LLMViewerError
from llmviewer.specs.hardware import Hardware, load_hardware
from llmviewer.specs.models import ModelSpec, load_model
from llmviewer.specs.workload import make_pass

INF = float("inf")
PASS_OPTIONS = ("w_bit", "a_bit", "kv_bit", "use_flashattention", "causal_attention", "w_group_size", "w_group_bits",
                "fusion")  # fmt: skip
"""Workload options a step accepts (as :func:`llmviewer.analyze`), besides the parallelism."""
BOUND_NAMES = ("compute", "memory", "communication")


def pass_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` (named as :data:`PASS_OPTIONS`) as keyword arguments of :func:`llmviewer.workload.make_pass`."""
    unknown = sorted(set(options) - set(PASS_OPTIONS))
    if unknown:
        raise LLMViewerError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(PASS_OPTIONS)}")
    out = {k: v for k, v in options.items() if k not in ("use_flashattention", "causal_attention")}
    out["flash_attention"] = bool(options.get("use_flashattention", True))
    out["causal_attention"] = bool(options.get("causal_attention", True))
    return out


def _fields(counted: list, size: int | None = None) -> np.ndarray:
    """(3, operators[, size]) array of OPs, memory bytes and link bytes of one instance of each operator."""
    rows = [(t.OPs, t.memory_access, t.link_bytes) for _, t, _ in counted]
    shape = (size,) if size is not None else ()
    return np.array([[np.broadcast_to(np.asarray(x, dtype=np.float64), shape) for x in r] for r in rows]).transpose(
        1, 0, *range(2, 2 + len(shape))
    )


class StepCost:
    """Seconds of engine steps of ``model`` on ``hardware`` (one device of a ``tensor_parallel`` group, the
    whole ``pipeline_parallel`` pipeline), under ``efficiency`` (:data:`~llmviewer.roofline.PURE` or a
    calibrated one). ``table_tokens``: steps of up to this many tokens use tables made once (longer ones are
    counted by the engine on demand). ``options``: :data:`PASS_OPTIONS`.

    A step is described by its features ``x = [1, T, S, K_w..., Q_w...]`` (:meth:`features`; windows in
    :attr:`windows`); :meth:`time` takes a (features, steps) array."""

    def __init__(
        self,
        model: str | ModelSpec | dict,
        hardware: str | Hardware | dict,
        efficiency: Efficiency = PURE,
        tensor_parallel: int = 1,
        pipeline_parallel: int = 1,
        table_tokens: int = 8192,
        **options: Any,
    ) -> None:
        self.model = load_model(model)
        self.hardware = load_hardware(hardware)
        self.efficiency = efficiency
        self.tensor_parallel = tensor_parallel
        self.pipeline_parallel = pipeline_parallel
        self.options = dict(options)
        self._kw = dict(pass_kwargs(options), tensor_parallel=tensor_parallel, absorb_mla=self.model.uses_mla)
        self.causal = self._kw["causal_attention"]
        probe = make_pass(1, 1, 0, 1, **self._kw)
        # dequantising matrix products where calibrated; every engine step counts as a decode step, replayed as one
        # graph (its fixed step_overhead instead of per-operator overheads) by engines that capture them
        self.efficiency = efficiency.for_pass(probe, decode=True)
        counted = count_pass(self.model, probe)
        self.ops = [op for op, _, _ in counted]
        n = len(self.ops)
        self.count = np.array([op.count for op in self.ops], dtype=np.float64)
        # operators whose calibrated compute efficiency follows their own rows, the S lm_head positions
        self._on_logits = np.array([i for i, op in enumerate(self.ops) if getattr(op, "tokens", "new") == "logits"],
                                   dtype=np.int64)  # fmt: skip
        self.peak = np.array([peak_for_bits(self.hardware, bits) for _, _, bits in counted], dtype=np.float64)
        kinds = sorted({op.kind for op in self.ops})
        self._groups = [(k, np.array([i for i, op in enumerate(self.ops) if op.kind == k])) for k in kinds]
        if pipeline_parallel > 1 or tensor_parallel > 1:
            link_bandwidth(self.hardware)  # a clear error when the device has no link
        self.hop = 0.0
        """Seconds per step token of moving hidden states between pipeline stages (``pp - 1`` hops)."""
        if pipeline_parallel > 1:
            self.hop = (
                (pipeline_parallel - 1)
                * self.model.hidden_size
                * probe.a_bytes
                / (link_bandwidth(self.hardware) * efficiency.link)
            )
        if any(op.chunk != INF or isinstance(op, StateUpdate) for op in self.ops):
            # per-sequence recurrent state and chunked attention are not among this decomposition's features
            raise LLMViewerError(
                f"{self.model.name}: the load simulator does not model chunked attention (Llama-4) or"
                " linear-attention/SSM layers (Qwen3-Next, Qwen3.5, Nemotron-H) yet; use generate() or analyze()"
            )
        windows = sorted({float(op.window) for op in self.ops})
        if min(windows) < 4:
            raise LLMViewerError(f"{self.model.name}: sliding windows shorter than 4 tokens are not supported")
        self.windows = tuple(windows)
        nw = len(windows)
        win = np.array([self.windows.index(float(op.window)) for op in self.ops])
        # slopes in K_w and Q_w from probe passes of equal T (so MoE weights, which follow T, cancel)
        a = self._count(2, 1, 0, 0)  # T=2, K=2, Q=2
        b = self._count(2, 1, 1, 0)  # T=2, K=4, Q=4
        c = self._count(1, 2, 0, 0)  # T=2, K=2, Q=4 (causal: 3)
        q = (c - a) / (1.0 if self.causal else 2.0)
        k = (b - a) / 2 - q
        s = self._count(1, 1, 0, 1) - self._count(1, 1, 0, 0)
        # the rest, a function of T alone: affine part plus (MoE) a tabulated remainder
        self.table_tokens = max(int(table_tokens), 2)
        tokens = np.arange(1, self.table_tokens + 1, dtype=np.float64)
        base = self._count(tokens, 1, 0, 0) - (k + q)[:, :, None] * tokens  # (3, ops, tokens)
        slope = base[:, :, 1] - base[:, :, 0]
        intercept = base[:, :, 0] - slope
        rest = base - intercept[:, :, None] - slope[:, :, None] * tokens
        self._rest = None
        if np.any(np.abs(rest) > 1e-9 * np.maximum(np.abs(base), 1.0)):
            self._rest = np.concatenate([np.zeros((3 * n, 1)), rest.reshape(3 * n, -1)], axis=1)
        self._k, self._q = k, q  # kept for base() on demand
        coef = np.zeros((3, n, 3 + 2 * nw))
        coef[:, :, 0], coef[:, :, 1], coef[:, :, 2] = intercept, slope, s
        rows = np.arange(n)
        coef[:, rows, 3 + win] = k
        coef[:, rows, 3 + nw + win] = q
        self._coef = coef.reshape(3 * n, -1)
        # seconds per OP, per memory byte, per link byte, and overhead, from the engine's op_terms
        cm, self._mm, self._lm, ov = self._multipliers(np.concatenate([[1.0], tokens]))
        self._cm_table = None
        if np.ptp(cm, axis=1).max() > 0:  # attained compute depends on the step's tokens (calibrated)
            self._cm_table = cm
        self._cm = cm[:, :1]
        self.overhead = float(self.count @ ov[:, 0]) + self.efficiency.step_cost
        """Seconds of fixed overhead in every step (calibrated kernel launches, or a replayed graph's)."""
        # seconds per unit of each feature, per operator and term: compute rows carry the per-OP seconds
        # unless they depend on T (then they are applied at run time)
        scale = np.concatenate([np.ones((n, 1)) if self._cm_table is not None else self._cm, self._mm, self._lm])
        self._w = self._coef * scale
        self._rest_w = None if self._rest is None else self._rest * scale
        self._full_only = all(w == INF for w in self.windows)
        self._nkq = 2 * nw
        self._dx = np.array([0.0, 0.0, 0.0] + [1.0] * (2 * nw))

    # ----------------------------------------------------------------- engine counts

    def _count(self, batch: Any, new: Any, past: Any, logits: Any) -> np.ndarray:
        size = batch.size if isinstance(batch, np.ndarray) else None
        return _fields(count_pass(self.model, make_pass(batch, new, past, logits, **self._kw)), size)

    def _multipliers(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Seconds per OP (ops, len(tokens)), per memory byte and per link byte (ops, 1), and the fixed
        overhead (ops, 1) of each operator: :func:`llmviewer.roofline.op_terms` of unit counts."""
        t = np.asarray(tokens, dtype=np.float64)
        n = len(self.ops)
        cm, mm, lm, ov = np.zeros((n, t.size)), np.zeros((n, 1)), np.zeros((n, 1)), np.zeros((n, 1))
        for kind, idx in self._groups:
            comp, mem, link, over = op_terms(
                kind, 1.0, 1.0, 1.0, self.peak[idx, None], self.hardware, t, self.efficiency
            )
            cm[idx] = np.broadcast_to(comp, (idx.size, t.size))
            mm[idx] = np.broadcast_to(np.asarray(mem, dtype=np.float64).reshape(-1)[:1], (idx.size, 1))
            lm[idx] = np.broadcast_to(np.asarray(link, dtype=np.float64).reshape(-1)[:1], (idx.size, 1))
            ov[idx] = over
        return cm, mm, lm, ov

    # ----------------------------------------------------------------- statistics of parts

    def part_stats(self, new: Any, past: Any) -> np.ndarray:
        """(2, windows, parts): keys ``K_w`` and query-key pairs ``Q_w`` of sequences each feeding ``new``
        tokens after ``past`` cached ones (the engine's conventions for attention)."""
        n = np.asarray(new, dtype=np.float64)
        p = np.asarray(past, dtype=np.float64)
        k, q = [], []
        for w in self.windows:
            keys = np.minimum(p + n, w)
            if self.causal:  # query i (0-based) sees min(p + i + 1, w) keys
                uncapped = np.clip(w - p, 0, n)
                pairs = uncapped * p + uncapped * (uncapped + 1) / 2 + (n - uncapped) * keys
            else:
                pairs = n * keys
            k.append(keys)
            q.append(pairs)
        return np.array([k, q])

    def decode_stats(self, cached: np.ndarray) -> tuple[list[float], list[float]]:
        """``K_w`` and ``Q_w`` (lists over windows) of one decode step of sequences with ``cached`` tokens."""
        k = [
            float(np.minimum(cached + 1.0, w).sum()) if w != INF else float(cached.sum() + cached.size)
            for w in self.windows
        ]
        return k, k

    def decode_run_stats(self, cached: np.ndarray, steps: int) -> np.ndarray:
        """(2, windows, steps): ``K_w`` and ``Q_w`` of ``steps`` consecutive decode steps of the sequences
        with ``cached`` tokens (growing by one per step)."""
        c = np.sort(np.asarray(cached, dtype=np.float64))
        j = np.arange(steps, dtype=np.float64)
        d = len(c)
        total = c.sum() + d * (1 + j)
        out = np.empty((len(self.windows), steps))
        prefix = np.concatenate([[0.0], np.cumsum(c)])
        for i, w in enumerate(self.windows):
            if w == INF:
                out[i] = total
                continue
            # sequences with c + 1 + j > w read w keys: the excess is c + 1 + j - w
            idx = np.searchsorted(c, w - 1 - j, side="right")
            out[i] = total - ((prefix[-1] - prefix[idx]) + (d - idx) * (1 + j - w))
        return np.array([out, out])  # one new token per sequence: pairs = keys

    def features(self, tokens: Any, logits: Any, stats: np.ndarray) -> np.ndarray:
        """(features, steps) array ``[1, T, S, K_w..., Q_w...]`` of steps of ``tokens`` tokens, ``logits``
        lm_head positions and attention statistics ``stats`` (2, windows, steps)."""
        t = np.atleast_1d(np.asarray(tokens, dtype=np.float64))
        s = np.broadcast_to(np.asarray(logits, dtype=np.float64), t.shape)
        return np.concatenate([np.ones((1, t.size)), t[None, :], s[None, :], stats[0], stats[1]])

    # ----------------------------------------------------------------- time

    def counts(self, x: np.ndarray) -> np.ndarray:
        """(3 x ops, steps): OPs, then memory bytes, then link bytes of one instance of each operator, for
        steps of features ``x`` (:meth:`features`)."""
        c = self._coef @ x
        if self._rest is not None:
            t = x[1].astype(np.int64)
            if t.max() <= self.table_tokens:
                c += self._rest[:, t]
            else:  # beyond the table: ask the engine
                c += (self._count(x[1], 1, 0, 0) - (self._k + self._q)[:, :, None] * x[1]).reshape(c.shape) - (
                    self._coef[:, :2] @ x[:2]
                )
        return c

    def _terms(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(self.ops)
        c = self.counts(x)
        if self._cm_table is None:
            cm = self._cm
        else:
            cm = self._cm_at(x)
        return c[:n] * cm, c[n : 2 * n] * self._mm, c[2 * n :] * self._lm

    def _cm_at(self, x: np.ndarray) -> np.ndarray:
        """(ops, steps) seconds per OP of each operator in steps of features ``x``: attained compute at the
        step's ``T`` tokens, or at its ``S`` lm_head rows for the operators on logits."""
        t = x[1].astype(np.int64)
        cm = self._cm_table[:, t] if t.max() <= self.table_tokens else self._multipliers(x[1])[0]
        if self._on_logits.size:
            rows = np.maximum(x[2], 1)
            si = rows.astype(np.int64)
            at_s = self._cm_table[:, si] if si.max() <= self.table_tokens else self._multipliers(rows)[0]
            cm = cm.copy()
            cm[self._on_logits] = at_s[self._on_logits]
        return cm

    def time(self, x: np.ndarray) -> Any:
        """Seconds of each step of features ``x`` (features, steps), or of one step (``x`` of shape
        (features,)): per operator the largest of its compute, memory and link terms
        (:func:`llmviewer.roofline.op_terms`, combined as :func:`llmviewer.roofline.combine`) plus its overhead,
        summed over the model's operator instances, plus pipeline hops."""
        n = len(self.ops)
        z = self._w @ x
        if self._rest_w is not None or self._cm_table is not None:
            t = x[1].astype(np.int64)
            if np.max(t) > self.table_tokens:
                comp, mem, link = self._terms(x)
                out = self.count @ np.maximum(np.maximum(comp, mem), link) + self.overhead
                return out + self.hop * x[1] if self.hop else out
            if self._rest_w is not None:
                z = z + self._rest_w[:, t]
            if self._cm_table is not None:
                z[:n] *= self._cm_at(x)
        top = np.maximum(np.maximum(z[:n], z[n : 2 * n]), z[2 * n :])
        out = self.count @ top + self.overhead
        return out + self.hop * x[1] if self.hop else out

    def decode_run(self, cached: np.ndarray, steps: int) -> tuple[Any, np.ndarray]:
        """Features and seconds (steps) of ``steps`` consecutive decode steps of the sequences with ``cached``
        tokens (each step adds one token per sequence). Features: a (features, steps) array, or, when every
        feature is affine in the step index ``j`` (no sliding window), the pair ``(x0, dx)`` with
        ``x_j = x0 + j dx``."""
        d = cached.size
        if self._full_only:
            keys = float(cached.sum()) + d
            x0 = np.array([1.0, d, d] + [keys] * self._nkq)
            dx = self._dx * d
            j = np.arange(steps, dtype=np.float64)
            if self._rest_w is not None or self._cm_table is not None or d > self.table_tokens:
                return (x0, dx), self.time(x0[:, None] + dx[:, None] * j)
            z = np.multiply.outer(self._w @ dx, j)
            z += (self._w @ x0)[:, None]
            dt = self.count @ z.reshape(3, -1, steps).max(axis=0)
            dt += self.overhead + self.hop * d
            return (x0, dx), dt
        x = self.features(np.full(steps, d), d, self.decode_run_stats(cached, steps))
        return x, self.time(x)

    def bound_seconds(self, x: np.ndarray) -> np.ndarray:
        """(3, steps): seconds of each step spent in operators bound by compute, memory and communication
        (pipeline hops count as communication); they sum to :meth:`time`."""
        comp, mem, link = self._terms(x)
        n = len(self.ops)
        roof = np.maximum(comp, mem)
        is_link = link > roof
        over = np.zeros((n, 1))
        for kind, idx in self._groups:
            over[idx] = op_terms(kind, 0.0, 0.0, 0.0, self.peak[idx, None], self.hardware, 1.0, self.efficiency)[3]
        seconds = self.count[:, None] * (np.maximum(roof, link) + over)
        is_compute = (comp > mem) & ~is_link
        out = np.stack(
            [
                (seconds * is_compute).sum(axis=0),
                (seconds * (~is_compute & ~is_link)).sum(axis=0),
                (seconds * is_link).sum(axis=0),
            ]
        )
        out[2] += self.hop * x[1]
        return out

    def decode_step(self, batch: int, cached: int) -> float:
        """Seconds of one decode step of ``batch`` sequences with ``cached`` tokens each."""
        stats = self.part_stats(np.array([1.0]), np.array([float(cached)])) * batch
        return float(self.time(self.features([batch], [batch], stats))[0])

    def prefill_step(self, batch: int, prompt: int) -> float:
        """Seconds of one step that prefills ``batch`` whole prompts of ``prompt`` tokens each."""
        stats = self.part_stats(np.array([float(prompt)]), np.array([0.0])) * batch
        return float(self.time(self.features([batch * prompt], [batch], stats))[0])
