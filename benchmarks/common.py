"""Timing helpers shared by the benchmark scripts: medians of repeated runs, wall time of commands."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` untimed ones (seconds)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def median_times(fn: Callable[[], object], repeat: int, warmup: int = 1) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (``time.process_time``: what the
    call itself used, less sensitive to other jobs on a shared machine) of ``fn()`` over ``repeat``
    runs after ``warmup`` untimed ones (seconds)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
    return statistics.median(wall), statistics.median(cpu)


def user_env() -> dict[str, str]:
    """The environment a user's shell gives a command: compiled bytecode is written and reused
    (an installed wheel has it), even where this machine sets PYTHONDONTWRITEBYTECODE, which
    would add every module's compilation to each start-up. The bytecode goes to a folder outside
    the tree (PYTHONPYCACHEPREFIX)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), "llmviewer-bench-pycache"))
    return env


def command_time(argv: Sequence[str], repeat: int) -> float:
    """Median wall time of running the command ``argv`` to completion (seconds), after one warm-up."""
    env = user_env()
    return median_time(lambda: subprocess.run(argv, check=True, capture_output=True, env=env), repeat)


def interleaved(commands: dict[str, Sequence[str]], repeat: int) -> dict[str, float]:
    """Median wall time of each command, the commands run in turn ``repeat`` times, so that every
    one sees the same machine load (seconds). Run as a user's shell runs them (:func:`user_env`)."""
    env = user_env()
    for argv in commands.values():
        subprocess.run(argv, check=True, capture_output=True, env=env)
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            t = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}
