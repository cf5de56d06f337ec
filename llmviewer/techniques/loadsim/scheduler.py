"""Iteration-level scheduling of one engine (a vLLM / SGLang / Sarathi-like continuous-batching loop).

The engine runs steps back to back while it has work. Before each step the scheduler picks the step's
work within two budgets, ``max_batch`` sequences and ``max_tokens`` tokens:

* ``priority="decode"`` (vLLM V1, Sarathi-Serve): every running sequence in decode gets its next token
  first; the remaining token budget then goes to prefill work, continuing chunks first, then new requests in
  arrival order (first come, first served; the head of the queue blocks the rest). Steps mix decode and
  prefill tokens.
* ``priority="prefill"`` (vLLM V0's default, Orca-style): if any prefill work fits, the step is prefill only
  (running decodes wait); otherwise it is a decode step of every running sequence.
* ``"auto"``: ``decode`` with chunked prefill, ``prefill`` without.

Chunked prefill (``chunk`` tokens): a prompt is prefilled in pieces of at most ``chunk`` tokens, one per
step; without it a prompt is prefilled whole in one step, and must fit the token budget (a prompt longer than
the budget runs alone in a step of its own).

KV cache (PagedAttention): the engine holds ``kv_blocks`` blocks of ``block_size`` tokens; a sequence with
``n`` tokens in its cache holds ``ceil(n / block_size)`` blocks. ``preemption="recompute"`` (vLLM): blocks are
taken as tokens are written; when a step cannot get a block, the most recently admitted running request is
preempted (its blocks freed, it goes back to the head of the queue, and on readmission it prefills its prompt
and the tokens it already generated again; vLLM's recompute mode); no request is admitted in such a step.
``preemption="reserve"``: a request is admitted only when blocks for its whole final length (prompt + output
- 1 tokens) are free, and keeps them until it finishes: no preemption, requests queue instead (the engine
knows output lengths, an idealisation of engines that reserve the maximum length).

Prefix caching: a fraction ``prefix_hit_rate`` of each prompt (rounded down, at most all but one token) is found
in the cache and not computed; its blocks are counted as the request's own (an upper bound on memory, since
shared blocks are really held once).

Conventions (as :func:`llmviewer.generate`): the step that completes a request's prefill emits its first token
(its time to first token ends with that step); each later step emits one token; a request of ``output_len``
tokens takes ``output_len - 1`` decode steps, the last with ``prompt_len + output_len - 2`` tokens cached.
Requests arriving during a step are scheduled from the next step on.

Speed: consecutive steps in which nothing can change but the lengths (pure decode, no request can be
admitted, none finishes, no block runs out, no arrival could be admitted) are timed together as one array.
"""

from __future__ import annotations

import time as _time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from llmviewer.errors import LLMViewerError

from .arrivals import Requests
from .steptime import StepCost

PRIORITIES = ("auto", "decode", "prefill")
PREEMPTION = ("recompute", "reserve")
DEFAULT_MAX_TOKENS = 8192
"""Token budget per step without chunked prefill (vLLM's default ``max_num_batched_tokens`` for long contexts)."""
MAX_RUN = 4096
"""Most decode steps timed together as one array."""


@dataclass(frozen=True)
class SchedulerConfig:
    """How one engine schedules its steps (see the module docstring).

    ``max_batch``: sequences per step (vLLM ``max_num_seqs``). ``max_tokens``: tokens per step (vLLM
    ``max_num_batched_tokens``); default: ``chunk`` with chunked prefill, else :data:`DEFAULT_MAX_TOKENS`.
    ``chunk``: chunked prefill, the largest prefill piece (tokens) of one request per step; None = off.
    ``priority``: ``"decode"``, ``"prefill"`` or ``"auto"``. ``block_size``: tokens per KV block.
    ``memory_utilization``: fraction of device memory the engine may use (vLLM ``gpu_memory_utilization``).
    ``kv_blocks``: KV blocks per engine, overriding the capacity computed from memory. ``preemption``:
    ``"recompute"`` or ``"reserve"``. ``prefix_hit_rate``: fraction of prompt tokens found in the prefix cache."""

    max_batch: int = 256
    max_tokens: int | None = None
    chunk: int | None = None
    priority: str = "auto"
    block_size: int = 16
    memory_utilization: float = 0.9
    kv_blocks: int | None = None
    preemption: str = "recompute"
    prefix_hit_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_batch", "block_size"):
            _check_int(name, getattr(self, name))
        for name in ("max_tokens", "chunk", "kv_blocks"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name))
        if self.priority not in PRIORITIES:
            raise LLMViewerError(f"priority must be one of {', '.join(PRIORITIES)}, got {self.priority!r}")
        if self.preemption not in PREEMPTION:
            raise LLMViewerError(f"preemption must be one of {', '.join(PREEMPTION)}, got {self.preemption!r}")
        if not 0 < self.memory_utilization <= 1:
            raise LLMViewerError(f"memory_utilization must be in (0, 1], got {self.memory_utilization!r}")
        if not 0 <= self.prefix_hit_rate < 1:
            raise LLMViewerError(f"prefix_hit_rate must be in [0, 1), got {self.prefix_hit_rate!r}")

    @property
    def token_budget(self) -> int:
        """Tokens per step (``max_tokens``, or its default)."""
        if self.max_tokens is not None:
            return self.max_tokens
        return self.chunk if self.chunk is not None else DEFAULT_MAX_TOKENS

    @property
    def effective_priority(self) -> str:
        """``decode`` or ``prefill`` (``auto`` resolved)."""
        if self.priority != "auto":
            return self.priority
        return "decode" if self.chunk is not None else "prefill"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the resolved token budget and priority."""
        return {**asdict(self), "token_budget": self.token_budget, "effective_priority": self.effective_priority}


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise LLMViewerError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@dataclass
class EngineTrace:
    """What one engine did. Per request (in the order given): ``first_scheduled``, ``first_token`` and
    ``finish`` (seconds), ``preemptions``. Per step: ``start``, ``duration`` (s), ``seqs``, ``decode_seqs``,
    ``prefill_tokens``, ``kv_blocks`` (blocks held during the step), ``running`` and ``waiting`` (requests at
    its start); :meth:`features` gives each step's :meth:`StepCost.features` (built on first use).
    ``occupancy``: (time, requests in the engine) after every change."""

    first_scheduled: np.ndarray
    first_token: np.ndarray
    finish: np.ndarray
    preemptions: np.ndarray
    steps: dict[str, np.ndarray]
    occupancy: np.ndarray
    kv_blocks: int
    _features: Any = None  # (features of the single steps, the runs' (x0, dx) or features, run lengths, order)

    def features(self) -> np.ndarray:
        """(features, steps): each step's :meth:`StepCost.features`, in the order of :attr:`steps`."""
        if isinstance(self._features, tuple):
            single, xs, lengths, order = self._features
            feats = [single]
            if xs and all(isinstance(x, tuple) for x in xs):  # affine runs: x_j = x0 + j dx
                rid = np.repeat(np.arange(len(xs)), lengths)
                j = np.arange(rid.size) - np.concatenate([[0], np.cumsum(lengths)[:-1]])[rid]
                x0 = np.array([x[0] for x in xs])
                dx = np.array([x[1] for x in xs])
                feats.append((x0[rid] + dx[rid] * j[:, None]).T)
            else:
                feats.extend(x if not isinstance(x, tuple) else x[0][:, None] + x[1][:, None] * np.arange(n)
                             for x, n in zip(xs, lengths, strict=True))  # fmt: skip
            self._features = np.concatenate(feats, axis=1)[:, order]
        return self._features


class _Engine:
    """State and loop of one engine; see :func:`run_engine`.

    Invariant between steps: a running request holds ``ceil(computed / block_size)`` blocks (``reserve``: its
    final length's). ``self.batch`` holds the running requests in decode (the order they entered decode),
    ``self.pending`` those still prefilling (admission order), ``self.running`` all of them in admission
    order (preemption takes the last)."""

    def __init__(self, reqs: Requests, cost: StepCost, cfg: SchedulerConfig, kv_blocks: int, prefilled: bool) -> None:
        self.cost, self.cfg = cost, cfg
        self.n = len(reqs)
        self.arrival = reqs.arrival
        self.prompt = reqs.prompt_len.astype(np.int64)
        self.output = reqs.output_len.astype(np.int64)
        self.B = cfg.block_size
        self.budget = cfg.token_budget
        self.chunk = cfg.chunk
        self.decode_first = cfg.effective_priority == "decode"
        self.reserve = cfg.preemption == "reserve"
        self.capacity = kv_blocks
        self.free = kv_blocks
        self.windows = cost.windows
        self.full_only = all(w == float("inf") for w in self.windows)
        self.causal = cost.causal
        self.hit = np.minimum(np.floor(cfg.prefix_hit_rate * self.prompt), self.prompt - 1).astype(np.int64)
        # a request's state: tokens in its KV cache, tokens generated, prefill target, blocks held
        self.computed = np.where(prefilled, self.prompt, self.hit).astype(np.int64)
        self.generated = np.full(self.n, 1 if prefilled else 0, dtype=np.int64)
        self.target = self.prompt.copy()
        self.final_blocks = -(-(self.prompt + self.output - 1) // self.B)
        self.first_scheduled = np.full(self.n, np.nan)
        self.first_token = np.full(self.n, np.nan)
        self.finish = np.full(self.n, np.nan)
        self.preemptions = np.zeros(self.n, dtype=np.int64)
        self.waiting: deque[int] = deque()
        self.running: list[int] = []
        self.pending: list[int] = []
        self.batch = np.zeros(0, dtype=np.int64)
        self.rem = 0  # decode steps until the first request of the batch finishes
        self.step_dec: np.ndarray | None = None  # this step's decodes, which of them took a new block, their cache
        self.step_cross: np.ndarray | None = None
        self.step_cached: np.ndarray | None = None
        self.next_arrival = 0
        self.done = 0
        self.t = 0.0
        self.dt_decode = 0.0  # duration of the last pure decode step (a guess for the next)
        self.single: list[list[float]] = []  # start, duration, seqs, decode, prefill, kv, running, waiting
        self.single_x: list[list[float]] = []
        self.runs: list[tuple[np.ndarray, ...]] = []
        self.occ_t: list[float] = []
        self.occ_n: list[int] = []
        too_big = np.flatnonzero(self.final_blocks > kv_blocks)
        if too_big.size:
            i = int(too_big[0])
            raise LLMViewerError(
                f"a request of {self.prompt[i]} prompt + {self.output[i]} output tokens needs {self.final_blocks[i]} "
                f"KV blocks of {self.B} tokens, but an engine holds only {kv_blocks}: use more devices (tensor or "
                "pipeline parallelism), a smaller KV width, or shorter requests"
            )

    # ----------------------------------------------------------------- queues

    def _pull(self, until: float) -> None:
        """Move requests arriving at or before ``until`` into the queue, recording the occupancy."""
        arrival, n = self.arrival, self.n
        while self.next_arrival < n and arrival[self.next_arrival] <= until:
            i = self.next_arrival
            self.waiting.append(i)
            self.next_arrival += 1
            self.occ_t.append(float(arrival[i]))
            self.occ_n.append(len(self.waiting) + len(self.running))

    def _rebuild(self) -> None:
        """Recompute the decode batch and the prefilling list from ``running`` (after a preemption)."""
        comp, tgt = self.computed, self.target
        dec = [i for i in self.running if comp[i] >= tgt[i]]
        self.pending = [i for i in self.running if comp[i] < tgt[i]]
        self._set_batch(np.array(dec, dtype=np.int64))

    def _set_batch(self, batch: np.ndarray) -> None:
        self.batch = batch
        self.rem = int((self.output[batch] - self.generated[batch]).min()) if batch.size else 0

    def _held(self, ids: Any) -> int:
        """Blocks the running requests ``ids`` hold (between steps; see the class docstring)."""
        if self.reserve:
            return int(self.final_blocks[ids].sum())
        return int((-(-self.computed[ids] // self.B)).sum())

    def _preempt_last(self) -> int:
        """Preempt the most recently admitted running request (recompute); returns it."""
        v = self.running.pop()
        self.free += self._held([v])
        if self.step_dec is not None:  # a block it took for this step's decode goes back too
            self.free += int(self.step_cross[self.step_dec == v].sum())
        self.computed[v] = self.hit[v]
        self.target[v] = self.prompt[v] + self.generated[v]
        self.preemptions[v] += 1
        self.waiting.appendleft(v)
        return v

    # ----------------------------------------------------------------- scheduling one step

    def _admit(self, budget: int, parts: list, first: bool) -> tuple[int, int]:
        """Admit queued requests in order while they fit; returns (budget left, admitted)."""
        admitted = 0
        joined: list[int] = []
        while self.waiting and len(self.running) < self.cfg.max_batch and budget > 0:
            i = self.waiting[0]
            c = int(self.computed[i])
            todo = int(self.target[i]) - c
            if todo <= 0:  # arrives with its prompt in the cache (disaggregated decode): decodes from now on
                n = 1
            elif self.chunk is not None:
                n = min(todo, self.chunk, budget)
            else:
                n = todo
                if n > budget and not (first and not parts and budget == self.budget):
                    break
            if self.reserve:
                need = int(self.final_blocks[i])
            else:  # a queued request holds no blocks; a prefilled one takes its prompt's (its decode takes more)
                need = -(-(c + (n if todo > 0 else 0)) // self.B)
            if need > self.free:
                break
            self.waiting.popleft()
            self.running.append(i)
            self.free -= need
            if self.first_scheduled[i] != self.first_scheduled[i]:  # NaN: first time
                self.first_scheduled[i] = self.t
            if todo <= 0:
                joined.append(i)
            else:
                self.pending.append(i)
                parts.append((i, n))
                budget -= min(n, budget)
            admitted += 1
        if joined:  # prefilled requests join the decode batch (they decode from the next step)
            self._set_batch(np.concatenate([self.batch, np.array(joined, dtype=np.int64)]))
        return budget, admitted

    def _decodes(self, budget: int) -> tuple[np.ndarray, bool]:
        """Take the next token's block for every sequence in decode (preempting the last admitted request
        while blocks are short); returns the sequences scheduled and whether any request was preempted."""
        preempted = False
        while True:
            dec = self.batch if self.batch.size <= budget else self.batch[:budget]
            if self.reserve or not dec.size:
                return dec, preempted
            c = self.computed[dec]
            cross = c % self.B == 0  # these need a new block for their next token
            need = int(cross.sum())
            if need <= self.free:
                self.free -= need
                self.step_dec, self.step_cross, self.step_cached = dec, cross, c
                return dec, preempted
            self._preempt_last()
            preempted = True
            self._rebuild()

    def _prefill_running(self, budget: int, parts: list) -> tuple[int, bool]:
        """Continue the prefill of running requests (chunks); returns (budget left, preempted)."""
        preempted = False
        for i in list(self.pending):
            if budget <= 0:
                break
            if i not in self.running:  # preempted earlier in this step
                continue
            c = int(self.computed[i])
            n = min(int(self.target[i]) - c, self.chunk if self.chunk is not None else budget, budget)
            need = 0 if self.reserve else -(-(c + n) // self.B) - -(-c // self.B)
            while need > self.free:
                v = self._preempt_last()
                preempted = True
                if v == i:
                    break
            if preempted:
                self._rebuild()
            if i not in self.running:
                continue
            self.free -= need
            parts.append((i, n))
            budget -= n
        return budget, preempted

    def schedule(self) -> tuple[np.ndarray, list[tuple[int, int]], bool, int]:
        """The next step's decode sequences, prefill parts (request, tokens), whether it preempted, and how
        many requests it admitted."""
        parts: list[tuple[int, int]] = []
        budget = self.budget
        self.step_dec = self.step_cross = None
        if self.decode_first:
            decodes, preempted = self._decodes(budget)
            budget -= decodes.size
            if self.pending:
                budget, p2 = self._prefill_running(budget, parts)
                preempted = preempted or p2
                if p2:  # blocks taken for decodes of preempted requests are freed with them
                    decodes = decodes[np.isin(decodes, self.running)]
            admitted = 0
            if not preempted and self.waiting:
                budget, admitted = self._admit(budget, parts, first=not decodes.size)
            return decodes, parts, preempted, admitted
        preempted = False
        if self.pending:
            budget, preempted = self._prefill_running(budget, parts)
        admitted = 0
        if not preempted and self.waiting:
            budget, admitted = self._admit(budget, parts, first=True)
        if parts:
            return self.batch[:0], parts, preempted, admitted
        decodes, p2 = self._decodes(self.budget)
        return decodes, parts, preempted or p2, admitted

    # ----------------------------------------------------------------- running steps

    def _finish_batch(self) -> np.ndarray:
        """Remove the decode sequences that have emitted their last token; returns them."""
        b = self.batch
        left = self.generated[b] < self.output[b]
        done = b[~left]
        self._set_batch(b[left])
        return done

    def _retire(self, t_end: float, done: list[int] | np.ndarray) -> None:
        """Queue the step's arrivals, then retire the requests in ``done`` (finished at ``t_end``)."""
        self._pull(t_end)
        if len(done):
            ids = np.asarray(done, dtype=np.int64)
            self.finish[ids] = t_end
            self.free += self._held(ids)
            gone = set(ids.tolist())
            self.running = [i for i in self.running if i not in gone]
            self.done += ids.size
            self.occ_t.append(t_end)
            self.occ_n.append(len(self.waiting) + len(self.running))
        self.t = t_end

    def step(self, dec: np.ndarray, parts: list[tuple[int, int]]) -> None:
        """Run one step and apply it."""
        d = dec.size
        nw = len(self.windows)
        if d:
            c = self.step_cached if dec is self.step_dec else self.computed[dec]
            if self.full_only:
                keys = [float(c.sum()) + d] * nw
            else:
                keys = [
                    float(c.sum()) + d if w == float("inf") else float(np.minimum(c + 1, w).sum()) for w in self.windows
                ]
        else:
            keys = [0.0] * nw
        pairs = list(keys)
        tokens = logits = d
        emitted: list[int] = []
        for i, n in parts:
            p = int(self.computed[i])
            for k, w in enumerate(self.windows):
                kk = min(p + n, w)
                keys[k] += kk
                if self.causal:  # query j (0-based) sees min(p + j + 1, w) keys
                    u = min(max(w - p, 0), n)
                    pairs[k] += u * p + u * (u + 1) / 2 + (n - u) * kk
                else:
                    pairs[k] += n * kk
            tokens += n
            if p + n == self.target[i]:
                logits += 1
                emitted.append(i)
        x = [1.0, tokens, logits, *keys, *pairs]
        dt = float(self.cost.time(np.array(x)))
        t_end = self.t + dt
        self.single.append([self.t, dt, d + len(parts), d, tokens - d, self.capacity - self.free,
                            len(self.running), len(self.waiting)])  # fmt: skip
        self.single_x.append(x)
        done: list[int] = []
        if d:
            self.computed[dec] += 1
            self.generated[dec] += 1
            if not parts:
                self.dt_decode = dt
            self.rem -= 1
            if self.rem <= 0 or d < self.batch.size:
                done.extend(self._finish_batch().tolist())
        if parts:
            joined = []
            for i, n in parts:
                self.computed[i] += n
            for i in emitted:
                self.generated[i] += 1
                if self.first_token[i] != self.first_token[i]:
                    self.first_token[i] = t_end
                self.pending.remove(i)
                if self.generated[i] >= self.output[i]:
                    done.append(i)
                else:
                    joined.append(i)
            if joined:
                self._set_batch(np.concatenate([self.batch, np.array(joined, dtype=np.int64)]))
        self._retire(t_end, done)

    def run_decodes(self) -> None:
        """Run the pure-decode steps of the whole batch that follow (at least one) as one array: until a
        request finishes, a block would run out, or an arrival could be admitted."""
        dec = self.batch
        d = dec.size
        c = self.computed[dec]
        k = min(self.rem, MAX_RUN)
        arrival = None
        if not self.waiting and len(self.running) < self.cfg.max_batch and self.next_arrival < self.n:
            arrival = float(self.arrival[self.next_arrival])
            if self.dt_decode > 0:  # a guess: too short a run is merely continued by the next one
                k = min(k, int((arrival - self.t) / self.dt_decode) + 2)
        k = max(k, 1)
        x, dt = self.cost.decode_run(c, k)
        ends = self.t + np.cumsum(dt)
        keep = k
        if arrival is not None:  # steps that start before the arrival: the first, and those ending before it
            keep = min(int(np.searchsorted(ends, arrival, side="left")) + 1, k)
        held = self.capacity - self.free  # includes the blocks of the first step
        res = None
        if not self.reserve:
            # blocks during step j: sum_i ceil((c_i + 1 + j) / B) = held + d floor(j / B) + #{i: c_i % B >= B - j % B}
            res = c % self.B
            if held + d * ((keep - 1) // self.B + 1) > self.capacity:  # the blocks may run out: find where
                hist = np.bincount(res, minlength=self.B)
                tail = np.concatenate([[0], np.cumsum(hist[::-1])[: self.B - 1]])
                j = np.arange(keep)
                fits = held + d * (j // self.B) + tail[j % self.B] <= self.capacity
                if not fits.all():
                    keep = max(int(np.argmin(fits)), 1)
            m = (keep - 1) % self.B
            crossed = int(np.count_nonzero(res >= self.B - m)) if m else 0
            self.free = self.capacity - (held + d * ((keep - 1) // self.B) + crossed)
        self.runs.append((self.t, dt[:keep], d, held, res, len(self.running), len(self.waiting), self.next_arrival,
                          x if isinstance(x, tuple) else x[:, :keep]))  # fmt: skip
        self.dt_decode = float(dt[keep - 1])
        self.computed[dec] += keep
        self.generated[dec] += keep
        self.rem -= keep
        done = self._finish_batch() if self.rem <= 0 else []
        self._retire(float(ends[keep - 1]), done)

    def run(self, progress: Callable[[int, int], None] | None) -> EngineTrace:
        """Simulate until every request has finished."""
        idle_loops = 0
        last_report = _time.monotonic()
        loops = 0
        while self.done < self.n:
            loops += 1
            if progress is not None and loops % 256 == 0 and _time.monotonic() - last_report > 0.1:
                progress(self.done, self.n)
                last_report = _time.monotonic()
            if not self.running and not self.waiting:
                self.t = max(self.t, float(self.arrival[self.next_arrival]))
                self._pull(self.t)
                continue
            decodes, parts, preempted, admitted = self.schedule()
            if not decodes.size and not parts:
                idle_loops += 1
                if idle_loops > 3:  # pragma: no cover - guarded by the capacity check
                    raise LLMViewerError("the scheduler made no progress (a request cannot fit the KV cache)")
                continue
            idle_loops = 0
            if not parts and not preempted and not admitted and decodes.size == len(self.running):
                self.run_decodes()
            else:
                self.step(decodes, parts)
        if progress is not None:
            progress(self.done, self.n)
        return self._trace()

    def _trace(self) -> EngineTrace:
        cols = ("start", "duration", "seqs", "decode_seqs", "prefill_tokens", "kv_blocks", "running", "waiting")
        single = np.array(self.single, dtype=np.float64).reshape(-1, len(cols)).T
        nf = 3 + 2 * len(self.windows)
        xs: tuple = ()
        lengths = np.zeros(0, dtype=np.int64)
        parts = [single]
        if self.runs:  # expand the runs' steps, all at once
            t0, dts, d, held, residues, running, waiting, na, xs = zip(*self.runs, strict=True)
            lengths = np.array([len(x) for x in dts])
            nrun = len(dts)
            rid = np.repeat(np.arange(nrun), lengths)
            dt = np.concatenate(dts)
            ends = np.cumsum(dt)
            first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            j = np.arange(dt.size) - first[rid]
            starts = np.array(t0)[rid] + ends - dt - (ends[first] - dt[first])[rid]
            d = np.array(d)
            kv = np.array(held)[rid]
            if not self.reserve:  # per run: #{i: c_i % B >= B - m} for m = 0..B-1, from the residues
                res = np.concatenate(residues)
                hist = np.bincount(np.repeat(np.arange(nrun), d) * self.B + res, minlength=nrun * self.B)
                hist = hist.reshape(nrun, self.B)
                tails = np.concatenate(
                    [np.zeros((nrun, 1), dtype=np.int64), np.cumsum(hist[:, ::-1], axis=1)[:, :-1]], 1
                )
                kv = kv + d[rid] * (j // self.B) + tails[rid, j % self.B]
            queued = np.array(waiting)[rid] + np.searchsorted(self.arrival, starts, side="right") - np.array(na)[rid]
            b = d[rid]
            parts.append(np.array([starts, dt, b, b, np.zeros_like(dt), kv, np.array(running)[rid], queued]))
        table = np.concatenate(parts, axis=1)
        order = np.argsort(table[0], kind="stable")
        steps = {k: table[i][order] for i, k in enumerate(cols)}
        for k in cols[2:]:
            steps[k] = steps[k].astype(np.int64)
        return EngineTrace(
            self.first_scheduled,
            self.first_token,
            self.finish,
            self.preemptions,
            steps,
            np.array([self.occ_t, self.occ_n], dtype=np.float64),
            self.capacity,
            (np.array(self.single_x, dtype=np.float64).reshape(-1, nf).T, xs, lengths, order),
        )


def run_engine(
    requests: Requests,
    cost: StepCost,
    config: SchedulerConfig,
    kv_blocks: int,
    prefilled: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EngineTrace:
    """Simulate one engine serving ``requests`` (arrival order) with step times from ``cost`` and
    ``kv_blocks`` KV blocks. ``prefilled``: requests arrive with their prompt in the KV cache and their first
    token generated (the decode pool of a disaggregated system). ``progress(done, total)`` is called now and
    then."""
    return _Engine(requests, cost, config, kv_blocks, prefilled).run(progress)
