"""Every calibrated time goes through one kernel model: speculative decoding, MoE routing and early
exit time their decode steps exactly as analyze() and generate() do (issue 14: the dequantising
factors, element-wise fusion and the per-step cost of replayed graphs were skipped by some)."""

from __future__ import annotations

import pytest

import llmviewer
from llmviewer.engine.efficiency import Efficiency
from llmviewer.specs.hardware import load_hardware
from llmviewer.specs.models import load_model
from llmviewer.techniques import moe, speculative

# a calibration whose every part changes a decode step: dequantising factors, unfused element-wise
# work (fuse_elementwise False), per-operator overhead, a replayed graph's per-step cost
CALIBRATED = Efficiency(
    bandwidth=0.6,
    compute=0.5,
    kernel_overhead=4e-6,
    dequant_bandwidth=0.5,
    dequant_compute=0.4,
    graphs=True,
    step_overhead=3e-4,
)
OPTIONS = dict(w_bit=4, w_group_size=128, w_group_bits=20)


def _analyzed_step(model: str, batch: int, context: int, eff: Efficiency) -> float:
    res = llmviewer.analyze(model, "H100", batch_size=batch, seqlen=context, stages=("decode",), calibration=eff,
                            **OPTIONS)  # fmt: skip
    return float(res.decode.time)


@pytest.mark.parametrize("eff", [CALIBRATED, Efficiency(bandwidth=0.6, compute=0.5, fuse_elementwise=True)])
def test_speculative_and_early_exit_steps_are_analyze_steps(eff):
    m, hw = load_model("Llama-2-7b-hf"), load_hardware("H100")
    kw = speculative.pass_arguments(llmviewer.engine.efficiency.elementwise_fusion(eff, OPTIONS))
    step = speculative.decode_step_time(m, hw, 4, 1000, eff, **kw)
    assert step == pytest.approx(_analyzed_step("Llama-2-7b-hf", 4, 1000, eff), rel=1e-12)
    # generate(): the decode time of one step after a 1000-token prompt
    gen = llmviewer.generate("Llama-2-7b-hf", "H100", batch_size=4, prompt_len=1000, gen_len=2, calibration=eff,
                             **OPTIONS)  # fmt: skip
    assert float(gen.decode_time) == pytest.approx(step, rel=1e-12)
    spec = speculative.speculative_decoding("Llama-2-7b-hf", "Llama-2-7b-hf", "H100", 0.5, 1, batch_size=4,
                                            context=1000, calibration=eff, **OPTIONS)  # fmt: skip
    assert float(spec.draft_time) == pytest.approx(step, rel=1e-12)
    assert float(spec.baseline_time_per_token) == pytest.approx(step, rel=1e-12)
    exit_all = speculative.early_exit("Llama-2-7b-hf", "H100", [0] * 31 + [1], batch_size=4, context=1000,
                                      calibration=eff, **OPTIONS)  # fmt: skip
    assert float(exit_all.step_time) == pytest.approx(step, rel=1e-12)


def test_moe_step_is_the_analyze_step():
    for eff in (CALIBRATED, Efficiency(bandwidth=0.6, compute=0.5, fuse_elementwise=True)):
        run = moe.moe_decode("Mixtral-8x7B-v0.1", "H100", batch_size=2, context=500, calibration=eff, **OPTIONS)
        assert float(run.step_time) == pytest.approx(_analyzed_step("Mixtral-8x7B-v0.1", 2, 500, eff), rel=1e-9)


def test_each_part_of_the_kernel_model_changes_the_step():
    """The comparisons above would pass vacuously if a part did nothing: each one moves the step."""
    base = _analyzed_step("Llama-2-7b-hf", 4, 1000, CALIBRATED)
    for change in (
        dict(dequant_bandwidth=1.0, dequant_compute=1.0),
        dict(step_overhead=0.0),
        dict(graphs=False),
        dict(fuse_elementwise=True),
    ):
        other = Efficiency(**{**CALIBRATED.__dict__, "weight_only": False, "replaying": False, **change})
        assert _analyzed_step("Llama-2-7b-hf", 4, 1000, other) != pytest.approx(base, rel=1e-6), change


def test_a_replayed_step_costs_its_fixed_overhead_instead_of_per_operator_launches():
    eager = Efficiency(bandwidth=0.6, compute=0.5, kernel_overhead=4e-6, step_overhead=3e-4)
    graphs = Efficiency(**{**eager.__dict__, "graphs": True})
    pure_ops = Efficiency(bandwidth=0.6, compute=0.5)
    roof = _analyzed_step("Llama-2-7b-hf", 1, 100, pure_ops)
    assert _analyzed_step("Llama-2-7b-hf", 1, 100, graphs) == pytest.approx(roof + 3e-4, rel=1e-12)
    assert _analyzed_step("Llama-2-7b-hf", 1, 100, eager) > roof + 100 * 4e-6  # hundreds of operator launches
    # the prefill is launched kernel by kernel either way
    pre = [llmviewer.analyze("Llama-2-7b-hf", "H100", seqlen=100, stages=("prefill",), calibration=e).prefill.time
           for e in (eager, graphs)]  # fmt: skip
    assert pre[0] == pre[1]
