"""Start-up of the command line: ``llmviewer models`` against ``python -c "import numpy"``.

    python benchmarks/bench_cli.py [--repeat 21]

Both commands run in turn (same machine load), medians of their wall times and the ratio are
printed. The target: ``llmviewer models`` within 2x of importing numpy (it imports neither numpy
nor pandas).
"""

from __future__ import annotations

import argparse
import sys

from common import interleaved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="runs of each command")
    args = parser.parse_args()
    commands = {
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        "llmviewer models": [sys.executable, "-m", "llmviewer", "models"],
        "llmviewer generate (1024+256 tokens)": [
            sys.executable,
            "-m",
            "llmviewer",
            "generate",
            "Llama-2-7b-hf",
            "A100",
        ],
    }
    times = interleaved(commands, args.repeat)
    width = max(map(len, times))
    for name, t in times.items():
        print(f"{name:<{width}}  {t * 1e3:8.1f} ms")
    ratio = times["llmviewer models"] / times['python -c "import numpy"']
    print(f"llmviewer models / import numpy = {ratio:.2f}")


if __name__ == "__main__":
    main()
