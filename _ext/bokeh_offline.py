"""Serve BokehJS from the book itself, and only on pages that need it.

* Copies ``bokeh.min.js`` (+ ``bokeh-widgets``; ``bokeh-tables`` / ``bokeh-gl``
  when a page uses them) from the *installed* bokeh package into
  ``<outdir>/_static/vendor/bokeh-<version>/`` once per build. Nothing is put
  in the source ``_static/`` folder: Jupyter Book 1 would add every .js found
  there to every page.
* Adds the matching ``<script defer>`` tags only on pages whose body holds
  Bokeh output (``Bokeh.embed.embed_items``). ``components()`` scripts wait for
  DOMContentLoaded, which fires after deferred scripts have run.
* Fails the build when a page's stored Bokeh output was made by another Bokeh
  version than the installed one (BokehJS refuses or misrenders such docs).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

_MARKER = "Bokeh.embed.embed_items"
# components() embeds: const docs_json = '{"<uuid>":{"version":"3.9.2",...
_VERSION_RE = re.compile(r'docs_json\s*=\s*\'\{"[^"]+":\{"version":"([^"]+)"')
_OPTIONAL = {
    "bokeh-tables.min.js": re.compile(r'"name":"(DataTable|DataCube|TableColumn)"'),
    "bokeh-gl.min.js": re.compile(r'"output_backend":"webgl"'),
}


def _bokeh():
    import bokeh

    static = Path(bokeh.__file__).parent / "server" / "static" / "js"
    return bokeh.__version__, static


def _vendor_dir(version: str) -> str:
    return f"vendor/bokeh-{version}"


def _on_page(app, pagename, templatename, context, doctree):
    body = context.get("body") or ""
    if _MARKER not in body:
        return
    version, _ = _bokeh()
    stored = set(_VERSION_RE.findall(body))
    if not stored:
        raise ExtensionError(
            f"bokeh_offline: page '{pagename}' has Bokeh output but no readable "
            "version in it; emit figures with show_figure() (bokeh.embed.components)."
        )
    if stored != {version}:
        src = app.env.doc2path(pagename, False)
        raise ExtensionError(
            f"bokeh_offline: '{src}' holds Bokeh output made with bokeh "
            f"{', '.join(sorted(stored))}, but bokeh {version} is installed. "
            "Re-execute the notebook in a fresh kernel (Restart & Run All) with "
            f"bokeh=={version} and commit it, or install the bokeh version it was made with."
        )
    files = ["bokeh.min.js", "bokeh-widgets.min.js"]
    files += [name for name, rx in _OPTIONAL.items() if rx.search(body)]
    for name in files:
        # Called during html-page-context: Sphinx adds it to this page only.
        app.builder.add_js_file(f"{_vendor_dir(version)}/{name}", defer="defer")


def _copy(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    version, static = _bokeh()
    dest = Path(app.outdir) / "_static" / _vendor_dir(version)
    dest.mkdir(parents=True, exist_ok=True)
    names = ["bokeh.min.js", "bokeh-widgets.min.js", *_OPTIONAL]
    for name in names:
        src, dst = static / name, dest / name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
    logger.info(f"bokeh_offline: BokehJS {version} copied to {dest}")


def setup(app):
    app.connect("html-page-context", _on_page)
    app.connect("build-finished", _copy)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
