"""One 1024-prompt + 1024-generated-token task by name: llmviewer against LLM-Viewer, in one run.

    python benchmarks/bench_peer.py --llm-viewer /path/to/LLM-Viewer [--repeat 15]

LLM-Viewer (github.com/hahnyuan/LLM-Viewer) is not part of this repository: give the folder of a
checkout. Its ``ModelAnalyzer.analyze_generate_task`` is timed on Llama-2-7B on an A100 (its
``nvidia_A100``), built from the config.json this package ships (copied into a temporary folder
whose name contains "Llama", which is how LLM-Viewer picks its layer graph; transformers reads
it offline). llmviewer's ``generate`` is called by NAME, as a user would. Medians of repeated
runs, in turn, and their ratio are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import llmviewer

MODEL, DEVICE, PROMPT, GEN = "Llama-2-7b-hf", "A100-SXM4-80GB", 1024, 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-viewer", required=True, help="folder of an LLM-Viewer checkout")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each (after one warm-up)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    peer = Path(args.llm_viewer).resolve()
    sys.path.insert(0, str(peer))
    os.chdir(peer)  # LLM-Viewer imports its configs relative to its folder
    from model_analyzer import ModelAnalyzer  # noqa: PLC0415 - the peer, from the given folder

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / MODEL
        folder.mkdir()
        shutil.copy(llmviewer.shipped_models()[MODEL], folder / "config.json")
        with contextlib.redirect_stdout(io.StringIO()):
            analyzer = ModelAnalyzer(str(folder), "nvidia_A100")

        def theirs() -> float:
            return analyzer.analyze_generate_task(PROMPT, GEN, 1)["inference_time"]

        def ours() -> float:
            return llmviewer.generate(MODEL, DEVICE, batch_size=1, prompt_len=PROMPT, gen_len=GEN).total_time

        theirs(), ours()
        times: dict[str, list[float]] = {"llmviewer generate (by name)": [], "LLM-Viewer analyze_generate_task": []}
        for _ in range(args.repeat):
            for name, fn in zip(times, (ours, theirs), strict=True):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    width = max(map(len, med))
    for name, t in med.items():
        print(f"{name:<{width}}  {t * 1e3:9.3f} ms")
    print(f"llmviewer is {med['LLM-Viewer analyze_generate_task'] / med['llmviewer generate (by name)']:.0f}x faster")


if __name__ == "__main__":
    main()
