"""Drop repeated inline scripts from every page.

sphinx-thebe's configuration script (``const THEBE_JS_URL = ...``) is registered twice under
Jupyter Book 1.0, so every page logged "Identifier 'THEBE_JS_URL' has already been declared".
This keeps the first copy of each script (same file, same inline body) and drops the rest.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # an inline script has no file: None in one registration, "" in the other
        key = (getattr(script, "filename", script) or "", getattr(script, "attributes", {}).get("body", ""))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept  # in place: later handlers and the template see the same list


def setup(app):
    app.connect("html-page-context", _dedupe, priority=100)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
