"""The README's console examples print what the CLI prints today.

Every ``$ llmviewer ...`` line of a ``console`` block that is followed by output lines (not by
``...`` or by the next command) is run, and its output must equal the README's lines exactly:
the figures a reader copies from the README are the ones the engine computes."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _examples() -> list[tuple[str, list[str]]]:
    """(command line, expected output lines) for every README example that shows its output."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ llmviewer "):
                i += 1
                continue
            command = lines[i][2:]
            while command.rstrip().endswith("\\"):  # a command continued on the next line
                i += 1
                command = command.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                if not lines[i].lstrip().startswith("#"):  # an indented comment is not output
                    output.append(lines[i])
                i += 1
            if output and not output[0].startswith("..."):
                found.append((command.split("#")[0].strip(), output))
    return found


EXAMPLES = _examples()


def test_the_readme_shows_outputs() -> None:
    assert len(EXAMPLES) >= 2, "the README's console examples with output were not found"


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c[:60] for c, _ in EXAMPLES])
def test_readme_example_prints_what_the_cli_prints(command: str, expected: list[str]) -> None:
    argv = shlex.split(command)[1:]
    run = subprocess.run(
        [sys.executable, "-m", "llmviewer", *argv], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert [line.rstrip() for line in run.stdout.splitlines()] == [line.rstrip() for line in expected]
