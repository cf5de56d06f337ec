"""Show a Bokeh object in a notebook as ONE small ``text/html`` output.

The output holds Bokeh's ``components()`` (a ``<script>`` and a ``<div>``) and
no BokehJS itself: the book loads BokehJS once per page (see
``_ext/bokeh_offline.py``), so a stored notebook stays a few kB per figure.
One output per cell keeps ``mystnb: figure`` labels unique.

Self-contained on purpose: it is meant to move into ``llmviewer/plots.py``.
"""

from __future__ import annotations


def show_figure(fig):
    """Return an IPython display object with the figure's script and div.

    Make it the last expression of a cell (one output per cell). In the built
    book BokehJS is provided by the page; in a live Jupyter session BokehJS
    must already be loaded in the page (e.g. by ``bokeh.io.output_notebook()``).
    """
    from bokeh.embed import components
    from IPython.display import HTML

    script, div = components(fig)
    return HTML(script + "\n" + div)
