"""Live explorer for Jupyter and Binder (ipywidgets): any model and device, any values.

It draws the same roofline figure as the book (:func:`llmviewer.viz.plots.roofline_figure`),
recomputed by the engine at every change. Needs a running kernel; the static book uses the
Bokeh explorer instead.
"""

from __future__ import annotations

from typing import Any

from ..engine.analysis import analyze
from ..errors import LLMViewerError
from ..specs.hardware import hardware_library, load_hardware
from ..specs.models import shipped_models
from .plots import roofline_figure

BIT_CHOICES = {"weights": [16, 8, 4, 3, 2, 1], "activations": [16, 8, 4], "KV cache": [16, 8, 4, 2]}


def explorer(model: str = "Llama-2-7b-hf", hardware: Any = "A100-SXM4-80GB") -> Any:
    """An ipywidgets panel: pick a shipped model (or type a config.json path), a device (a
    shipped name, or your own given as a JSON path, dict or Hardware), the stage, batch,
    sequence length, bit widths and FlashAttention; the roofline redraws."""
    import ipywidgets as w
    from jupyter_bokeh import BokehModel

    devices = dict(hardware_library())
    own = load_hardware(hardware)
    devices.setdefault(own.name, own)
    model_box = w.Combobox(value=model, options=list(shipped_models()), description="model", ensure_option=False)
    device = w.Dropdown(options=list(devices), value=own.name, description="device")
    stage = w.ToggleButtons(options=["prefill", "decode"], value="decode", description="stage")
    batch = w.BoundedIntText(value=1, min=1, max=1 << 20, description="batch")
    seqlen = w.BoundedIntText(value=2048, min=1, max=1 << 22, description="seqlen")
    bits = {k: w.Dropdown(options=v, value=v[0], description=f"{k} bits") for k, v in BIT_CHOICES.items()}
    flash = w.Checkbox(value=True, description="FlashAttention")  # the engine's default: the speed of light
    message = w.HTML()
    plot = w.Box()

    def redraw(_: Any = None) -> None:
        try:
            res = analyze(
                model_box.value,
                devices[device.value],
                batch_size=batch.value,
                seqlen=seqlen.value,
                w_bit=bits["weights"].value,
                a_bit=bits["activations"].value,
                kv_bit=bits["KV cache"].value,
                use_flashattention=flash.value,
            )
        except LLMViewerError as e:
            message.value = f"<span style='color:#b00'>{e}</span>"
            return
        stage_result = getattr(res, stage.value)
        message.value = (
            f"{stage.value}: {stage_result.time * 1e3:.4g} ms, {stage_result.total['bound']}-bound;"
            f" memory {res.memory['total'] / 1e9:.4g} GB of {res.hardware.memory_bytes / 1e9:.4g} GB"
        )
        plot.children = [
            BokehModel(roofline_figure(stage_result, res.hardware, f"{res.model.name} on {res.hardware.name}"))
        ]

    for widget in (model_box, device, stage, batch, seqlen, flash, *bits.values()):
        widget.observe(redraw, names="value")
    redraw()
    return w.VBox(
        [w.HBox([model_box, device]), stage, w.HBox([batch, seqlen, flash]), w.HBox(list(bits.values())), message, plot]
    )
