"""Energy per token from a power model: joules = watts x roofline seconds.

The power model is one number per device: the power it draws while it runs inference. By default
that is the device's stored power limit (``tdp_watts`` in ``data/hardware.json``, with its source:
a module power mode for Jetson boards, a default package TDP for laptop chips), on the assumption
that a device running at its roofline bound runs at its power limit. Both halves are bounds of a
different sign: the roofline time is a lower bound on time, the power limit an upper bound on
power, so the product is an estimate, not a bound. Pass ``power_w`` to use a measured figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..engine.generation import generate
from ..errors import LLMViewerError
from ..results import Result
from ..specs.hardware import Hardware, load_hardware
from ..specs.workload import check_sizes


@dataclass(frozen=True)
class Energy(Result):
    """Answer of :func:`energy_per_token`. ``power_w`` (watts) and where it came from
    (``power_source``: a URL or ``"given"``); times in seconds; energies in joules per token:
    ``prefill_j_per_token`` (prompt tokens), ``decode_j_per_token`` (generated tokens after the
    first, per sequence); ``decode_tokens_per_s`` (all sequences)."""

    model: str
    hardware: str
    power_w: float
    power_source: str
    ttft: Any
    tpot: Any
    prefill_j_per_token: Any
    decode_j_per_token: Any
    decode_tokens_per_s: Any


def device_power(hardware: Hardware | str | dict, power_w: float | None = None) -> tuple[float, str]:
    """(watts, source) of the power model: ``power_w`` when given, else the device's stored
    ``tdp_watts`` and its ``tdp`` source URL. Refused when neither is known."""
    hw = load_hardware(hardware)
    if power_w is not None:
        if isinstance(power_w, bool) or not isinstance(power_w, (int, float)) or not 0 < power_w < 1e7:
            raise LLMViewerError(f"power_w must be a number of watts in (0, 1e7), got {power_w!r}")
        return float(power_w), "given"
    if hw.tdp_watts is None:
        raise LLMViewerError(
            f"device {hw.name!r} has no power figure (tdp_watts is null in its data): pass power_w (watts)"
        )
    return hw.tdp_watts, hw.sources.get("tdp", "")


def energy_per_token(
    model: Any,
    hardware: Any,
    prompt_len: Any = 1024,
    gen_len: Any = 256,
    batch_size: Any = 1,
    power_w: float | None = None,
    **options: Any,
) -> Energy:
    """Joules per prompt token (prefill) and per generated token (decode) of ``model`` on
    ``hardware``: the device's power (see :func:`device_power`) times the roofline time of
    :func:`llmviewer.generate` (pure, or ``calibration=...`` in ``options``), per token."""
    power, source = device_power(hardware, power_w)
    check_sizes("gen_len", gen_len, minimum_value=2)  # decode energy needs at least one decode step
    gen = generate(model, hardware, batch_size=batch_size, prompt_len=prompt_len, gen_len=gen_len, **options)
    batch = gen.settings["batch_size"]
    return Energy(
        model=gen.model.name,
        hardware=gen.hardware.name,
        power_w=power,
        power_source=source,
        ttft=gen.ttft,
        tpot=gen.tpot_mean,
        prefill_j_per_token=power * gen.ttft / (batch * gen.settings["prompt_len"]),
        decode_j_per_token=power * gen.tpot_mean / batch,
        decode_tokens_per_s=batch / gen.tpot_mean,
    )


def edge_table(
    models: list[Any],
    devices: list[Any],
    w_bits: tuple[int, ...] = (16, 8, 4),
    prompt_len: int = 512,
    gen_len: int = 256,
    **options: Any,
) -> Any:
    """For every model, device and weight width (activations 16-bit, batch 1): whether the task
    fits (:func:`llmviewer.fits` at ``prompt_len + gen_len`` tokens), time to first token (s),
    decode tokens/s, and joules per prompt and per generated token where the device has a power
    figure (NaN otherwise). A pandas DataFrame, one row per setting."""
    from ..engine.analysis import fits
    from ..results import frame

    rows = []
    for model in models:
        for device in devices:
            hw = load_hardware(device)
            for w in w_bits:
                kw = dict(options, w_bit=w)
                fit = fits(model, hw, 1, prompt_len + gen_len, **kw)
                row = {"model": model, "device": hw.name, "w_bit": w, "fits": bool(fit.fits), "memory": fit.needed}
                gen = generate(model, hw, prompt_len=prompt_len, gen_len=gen_len, **kw)
                row.update(ttft=gen.ttft, decode_tokens_per_s=1 / gen.tpot_mean, power_w=hw.tdp_watts or math.nan)
                row["prefill_j_per_token"] = row["power_w"] * gen.ttft / prompt_len
                row["decode_j_per_token"] = row["power_w"] * gen.tpot_mean
                rows.append(row)
    return frame(rows)
