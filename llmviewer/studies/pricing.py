"""What a device costs to rent and what a generated token costs on it.

``data/prices.csv`` holds public on-demand cloud prices, one row per offer: ``device`` (a
library name), ``provider``, ``instance_type``, ``gpus_per_instance``, ``usd_per_gpu_hour``
(the price of ONE device for one hour, in US dollars, as the provider quotes it or as the
instance price divided by its devices), ``date`` (when the price was read), ``source`` (the
provider's page) and ``transcribed_from`` (where the reading is recorded). Prices change;
every number carries its date.

Cost per million generated tokens (USD) =
``usd_per_device_hour * devices / (throughput * 3600) * 1e6``, with ``throughput`` in
generated tokens/s of the whole group of ``devices`` (the engine's throughput: pure roofline
or calibrated). Units: USD, seconds, tokens/s.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import LLMViewerError
from ..paths import data_dir
from ..specs.hardware import Hardware, load_hardware
from ..specs.models import ModelSpec
from .compare import rank_devices

PRICES_FILE = "prices.csv"
COLUMNS = (
    "device",
    "provider",
    "instance_type",
    "gpus_per_instance",
    "usd_per_gpu_hour",
    "date",
    "source",
    "transcribed_from",
    "notes",
)


@lru_cache(maxsize=4)
def _read(path: Path, mtime: float) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={"date": str})
    except (OSError, pd.errors.ParserError) as e:
        raise LLMViewerError(f"{path}: cannot read prices ({e})") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise LLMViewerError(f"{path}: missing columns {missing}")
    price = pd.to_numeric(table["usd_per_gpu_hour"], errors="coerce")
    gpus = pd.to_numeric(table["gpus_per_instance"], errors="coerce")
    bad = table.index[~(price > 0) | ~(gpus >= 1)]
    if len(bad):
        raise LLMViewerError(f"{path}: row {int(bad[0]) + 2} needs a positive price and GPU count")
    table["device"] = [load_hardware(d).name for d in table["device"]]  # canonical names; unknown ones raise
    return table


def load_prices(path: str | Path | None = None) -> pd.DataFrame:
    """The price table (see the module docstring); ``path`` defaults to ``data/prices.csv``."""
    p = Path(path) if path is not None else data_dir() / PRICES_FILE
    if not p.is_file():
        raise LLMViewerError(f"{p}: no such file")
    return _read(p.resolve(), p.stat().st_mtime).copy()


def device_price(
    device: str | Hardware, provider: str | None = None, prices: pd.DataFrame | None = None
) -> float | None:
    """Cheapest listed on-demand price of one ``device`` for one hour (USD), among all offers or
    those of ``provider`` (case-insensitive substring); None when none is listed."""
    table = load_prices() if prices is None else prices
    name = load_hardware(device).name
    rows = table[table["device"] == name]
    if provider is not None:
        rows = rows[rows["provider"].str.lower().str.contains(provider.lower(), regex=False)]
    return float(rows["usd_per_gpu_hour"].min()) if len(rows) else None


def cost_per_million_tokens(usd_per_device_hour: Any, throughput: Any, devices: Any = 1) -> Any:
    """USD per million generated tokens when ``devices`` devices, each rented at
    ``usd_per_device_hour`` USD/hour, together generate ``throughput`` tokens/s. Arrays broadcast."""
    price, tput, n = (np.asarray(x, dtype=float) for x in (usd_per_device_hour, throughput, devices))
    if np.any(price <= 0) or np.any(tput <= 0) or np.any(n < 1):
        raise LLMViewerError("price and throughput must be positive and devices at least 1")
    out = price * n / (tput * 3600.0) * 1e6
    return out.item() if out.ndim == 0 else out


def cost_table(
    model: str | ModelSpec,
    devices: Iterable[str | Hardware] | None = None,
    batch_size: int = 1,
    prompt_len: int = 1024,
    gen_len: int = 256,
    provider: str | None = None,
    prices: pd.DataFrame | None = None,
    calibration: Any = None,
    max_devices: int = 8,
    **options: Any,
) -> pd.DataFrame:
    """Every priced device (of ``devices``, default all) on one task: the ranking columns of
    :func:`llmviewer.studies.compare.rank_devices` (run on the fewest tensor-parallel devices that
    hold the task, up to ``max_devices``) plus ``usd_per_device_hour``, ``price_source``,
    ``price_date`` and ``usd_per_million_tokens``; cheapest per token first. Devices with no
    price or that cannot hold the task are left out."""
    table = load_prices() if prices is None else prices
    priced = [d for d in dict.fromkeys(table["device"])]
    if devices is not None:
        wanted = {load_hardware(d).name for d in devices}
        priced = [d for d in priced if d in wanted]
    ranked = rank_devices(
        model,
        priced,
        batch_size=batch_size,
        prompt_len=prompt_len,
        gen_len=gen_len,
        calibration=calibration,
        max_devices=max_devices,
        **options,
    )
    ranked = ranked[ranked["fits"]].copy()
    rows = []
    for _, r in ranked.iterrows():
        offers = table[table["device"] == r["device"]]
        if provider is not None:
            offers = offers[offers["provider"].str.lower().str.contains(provider.lower(), regex=False)]
        if not len(offers):
            continue
        best = offers.loc[offers["usd_per_gpu_hour"].idxmin()]
        rows.append(
            {
                **r.to_dict(),
                "usd_per_device_hour": float(best["usd_per_gpu_hour"]),
                "provider": best["provider"],
                "price_date": best["date"],
                "price_source": best["source"],
                "usd_per_million_tokens": cost_per_million_tokens(
                    best["usd_per_gpu_hour"], r["throughput"], r["devices"]
                ),
            }
        )
    if not rows:
        return pd.DataFrame(columns=[*ranked.columns, "usd_per_device_hour", "usd_per_million_tokens"])
    out = pd.DataFrame(rows)
    return out.sort_values("usd_per_million_tokens", ignore_index=True)
