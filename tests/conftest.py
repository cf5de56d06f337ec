"""Shared fixtures: shipped models and devices, and a switch that makes optional suites required."""

from __future__ import annotations

import os

import pytest

import llmviewer


def require_or_skip(module: str):
    """Import ``module``; skip the test when it is missing, unless LLMVIEWER_REQUIRE_ALL=1 (CI)."""
    if os.environ.get("LLMVIEWER_REQUIRE_ALL") == "1":
        return __import__(module)
    return pytest.importorskip(module)


SHIPPED = sorted(llmviewer.shipped_models())
DENSE = [n for n in SHIPPED if not llmviewer.load_model(n).is_moe]


@pytest.fixture(scope="session")
def a6000():
    return llmviewer.load_hardware("RTX-A6000")
