"""The book's metadata, each fact kept in one place, and a "cite / data" line under every figure.

- Repository URL: ``repository.url`` in ``_config.yml``; the book's own URL: ``html.baseurl``.
- Version: ``llmviewer.__version__`` (the package and the book are one release); release date:
  ``date-released`` in ``CITATION.cff`` (a test checks that both files agree).

Markdown sources may write ``@REPOSITORY_URL@``, ``@BOOK_URL@``, ``@VERSION@`` and
``@RELEASE_DATE@`` (also inside code blocks, e.g. BibTeX); they are replaced at read time.

Every numbered figure whose label starts with ``fig-`` gets, under its caption, a link to its
data (``chapters/figures/<label>.csv``, copied into the built site under ``_static/figures/``)
and a BibTeX entry naming the figure, its number, label, the book's version and URL. A figure
without its CSV fails the build.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import yaml
from docutils import nodes

FIGURE_DATA = Path("chapters") / "figures"
"""Where the notebooks write each figure's data (relative to the book's root)."""
BUILT_DATA = "_static/figures"


def _metadata(app) -> dict[str, str]:
    import llmviewer

    root = Path(app.srcdir)
    cff = yaml.safe_load((root / "CITATION.cff").read_text("utf8"))
    return {
        "@REPOSITORY_URL@": (app.config.html_theme_options or {}).get("repository_url", "").rstrip("/"),
        "@BOOK_URL@": (app.config.html_baseurl or "").rstrip("/"),
        "@VERSION@": llmviewer.__version__,
        "@RELEASE_DATE@": str(cff["date-released"]),
    }


def _substitute(app, docname, source):
    if "@" not in source[0]:
        return
    for token, value in _metadata(app).items():
        source[0] = source[0].replace(token, value)


def _bibtex(label: str, number: str, caption: str, page_title: str, url: str, meta: dict[str, str]) -> str:
    key = "llmroofline_" + label.replace("-", "_")
    caption = re.sub(r"\s+", " ", caption).strip()
    return (
        f"@misc{{{key},\n"
        f"  author       = {{{{The llmviewer authors}}}},\n"
        f"  title        = {{Figure {number}: {caption}}},\n"
        f"  year         = {{{meta['@RELEASE_DATE@'][:4]}}},\n"
        f"  howpublished = {{\\url{{{url}}}}},\n"
        f"  note         = {{Figure \\texttt{{{label}}}, chapter ``{page_title}'', in: {{LLM}} Inference on the"
        f" Roofline, version {meta['@VERSION@']} ({meta['@RELEASE_DATE@']})}}\n"
        f"}}"
    )


def _cite_lines(app, doctree, docname):
    numbers = app.env.toc_fignumbers.get(docname, {}).get("figure", {})
    meta = _metadata(app)
    prefix = "../" * docname.count("/")
    title = app.env.titles[docname].astext() if docname in app.env.titles else docname
    for figure in doctree.findall(nodes.figure):
        labels = [i for i in figure["ids"] if i.startswith("fig-")]
        if not labels or labels[0] not in numbers:
            continue
        label = labels[0]
        number = ".".join(str(n) for n in numbers[label])
        if not (Path(app.srcdir) / FIGURE_DATA / f"{label}.csv").is_file():
            from sphinx.util import logging

            logging.getLogger(__name__).warning(f"figure {label} has no data file {FIGURE_DATA}/{label}.csv")
            continue
        caption = next(iter(figure.findall(nodes.caption)), None)
        text = caption.astext() if caption is not None else ""
        url = f"{meta['@BOOK_URL@']}/{docname}.html#{label}"
        bib = _bibtex(label, number, text, title, url, meta)
        figure += nodes.raw(
            "",
            f'<div class="figure-cite">Cite / data: <a class="reference download" '
            f'href="{prefix}{BUILT_DATA}/{label}.csv" download>{label}.csv</a>'
            f"<details><summary>BibTeX for Fig. {number}</summary><pre>{html.escape(bib)}</pre></details></div>",
            format="html",
        )


def _copy_figure_data(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / BUILT_DATA
    out.mkdir(parents=True, exist_ok=True)
    for csv in sorted((Path(app.srcdir) / FIGURE_DATA).glob("fig-*.csv")):
        shutil.copyfile(csv, out / csv.name)


def setup(app):
    app.connect("source-read", _substitute)
    app.connect("doctree-resolved", _cite_lines)
    app.connect("build-finished", _copy_figure_data)
    return {"version": "0.2", "parallel_read_safe": True, "parallel_write_safe": True}
