"""Keep the repository URL in one place: ``repository.url`` in ``_config.yml``.

Markdown sources may write ``@REPOSITORY_URL@`` (also inside code blocks, e.g.
BibTeX); it is replaced at read time with that URL.
"""

from __future__ import annotations

TOKEN = "@REPOSITORY_URL@"


def _substitute(app, docname, source):
    if TOKEN in source[0]:
        url = (app.config.html_theme_options or {}).get("repository_url", "")
        source[0] = source[0].replace(TOKEN, url.rstrip("/"))


def setup(app):
    app.connect("source-read", _substitute)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
