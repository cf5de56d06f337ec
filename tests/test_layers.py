"""The package's layers: imports only go down, and no module imports another in a cycle.

Every ``import`` and ``from ... import`` of every module under ``llmviewer/`` is read with
``ast`` (those inside functions too: a lazy import is still a dependency), resolved to the
module it names, and checked against the layer order of the README's "Architecture":

    base (errors, paths, arrays, results, _version) < specs < engine < techniques < studies
    < calibration < viz, cli

A module may import modules of its own subpackage and of any LOWER layer; ``viz`` and ``cli``
share the top and do not import each other; only the package's own ``__init__`` (the public
API) and ``__main__`` sit above everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "llmviewer"
BASE = {"errors", "paths", "arrays", "results", "_version"}
LAYERS = {"specs": 1, "engine": 2, "techniques": 3, "studies": 4, "calibration": 5, "viz": 6, "cli": 6}
FORBIDDEN = {
    "engine": {"pandas", "scipy", "argparse", "bokeh", "IPython", "ipywidgets"},
    "specs": {"pandas", "scipy", "argparse", "bokeh", "IPython", "ipywidgets"},
    "techniques": {"argparse", "bokeh", "IPython", "ipywidgets"},
}
"""Third-party (and standard) modules a layer must not import: the engine is numpy only, and the
techniques hold physics, not command lines or figures."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """Absolute names of the llmviewer modules a ``from ... import`` statement loads."""
    if node.level:
        package = importer if is_package else importer.rsplit(".", 1)[0]
        for _ in range(node.level - 1):
            package = package.rsplit(".", 1)[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if not base.startswith("llmviewer"):
        return []
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]  # submodules
    return found if found and len(found) == len(node.names) else [base, *found]


def imports(name: str) -> tuple[set[str], set[str]]:
    """(llmviewer modules, other top-level modules) that module ``name`` imports anywhere."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    ours, others = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (ours if alias.name.startswith("llmviewer") else others).add(
                    alias.name if alias.name.startswith("llmviewer") else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            targets = _resolve(name, path.name == "__init__.py", node)
            if targets:
                ours.update(targets)
            elif not node.level and node.module:
                others.add(node.module.split(".")[0])
    return ours, others


def layer(name: str) -> tuple[str, float]:
    """(subpackage or base module, rank) of a module; the package itself ranks above all."""
    parts = name.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "llmviewer", float("inf")
    if parts[1] in BASE:
        return parts[1], 0
    return parts[1], LAYERS[parts[1]]


GRAPH = {name: imports(name)[0] for name in MODULES}


def test_every_module_has_a_layer():
    for name in MODULES:
        layer(name)  # raises KeyError for a subpackage not in LAYERS


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_go_down(name):
    own, rank = layer(name)
    for target in GRAPH[name]:
        assert target in MODULES, f"{name} imports {target}, which is not a module of llmviewer"
        other, other_rank = layer(target)
        if other == own or (own in BASE and other in BASE):
            continue  # within a subpackage, or among the base modules: the cycle test covers these
        assert other_rank < rank, f"{name} ({own}, layer {rank}) imports {target} ({other}, layer {other_rank})"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.split(".")[1:2] and n.split(".")[1] in FORBIDDEN))
def test_layers_do_not_import_what_belongs_above(name):
    banned = FORBIDDEN[name.split(".")[1]] & imports(name)[1]
    assert not banned, f"{name} imports {sorted(banned)}"


def test_no_import_cycles():
    """Depth-first search over every import (lazy ones included) finds no cycle."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name)


def test_the_checker_sees_lazy_and_relative_imports():
    """The checker itself: a lazy relative import inside a function is found and resolved."""
    ours = GRAPH["llmviewer.cli.commands.analyze"]
    assert "llmviewer.engine.analysis" in ours and "llmviewer.cli.options" in ours
