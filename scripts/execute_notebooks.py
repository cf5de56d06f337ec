"""Re-execute notebooks in place, each in a fresh kernel, top to bottom.

Usage: python scripts/execute_notebooks.py [chapters/*.ipynb ...]

The same as "Restart kernel and run all" followed by save: the stored outputs
are what the book publishes and what nbval compares against. The kernel's
working directory is the notebook's folder (as under nbval and Jupyter).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,  # no per-run timestamps in the stored notebook
        store_widget_state=False,  # ipywidgets (the live explorer) need a kernel; their state is dead weight
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nb.metadata.pop("widgets", None)  # a state stored by an earlier run
    for cell in nb.cells:  # timestamps would change on every run
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.0f} kB)")


def main(argv: list[str]) -> int:
    paths = [Path(p).resolve() for p in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
