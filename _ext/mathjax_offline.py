"""Serve MathJax 3 from the book itself (no CDN).

Sphinx loads ``mathjax_path`` (relative paths are relative to ``_static``)
only on pages that contain math. This extension points ``mathjax_path`` at
``vendor/mathjax-<version>/tex-mml-chtml.js`` and copies that bundle, its
CHTML web fonts and the TeX extensions MathJax autoloads from the pip package
``django-static-mathjax`` (a plain copy of MathJax 3's ``es5`` folder) into the
build. Left out: ``sre`` (speech / explorer, 4 MB): the optional accessibility
explorer in MathJax's context menu needs the network.
"""

from __future__ import annotations

import shutil
from importlib.metadata import version as dist_version
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

_DIST = "django-static-mathjax"
_PARTS = ["tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions"]


def _source() -> tuple[str, Path]:
    try:
        import mathjax  # provided by django-static-mathjax
    except ImportError as err:  # pragma: no cover - message for humans
        raise ExtensionError(f"mathjax_offline: install '{_DIST}' (see requirements-book.txt)") from err
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise ExtensionError(f"mathjax_offline: no MathJax es5 bundle in {es5}")
    # 3.2.2.1 -> 3.2.2 (the wheel adds a packaging suffix)
    return ".".join(dist_version(_DIST).split(".")[:3]), es5


def _vendor_dir(version: str) -> str:
    return f"vendor/mathjax-{version}"


def _configure(app, config):
    version, _ = _source()
    config.mathjax_path = f"{_vendor_dir(version)}/tex-mml-chtml.js"


def _copy(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    version, es5 = _source()
    dest = Path(app.outdir) / "_static" / _vendor_dir(version)
    if (dest / "tex-mml-chtml.js").is_file():
        return
    for part in _PARTS:
        src = es5 / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        else:
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / part)
    lic = es5.parent / "LICENSE"
    if lic.is_file():
        shutil.copyfile(lic, dest / "LICENSE")
    logger.info(f"mathjax_offline: MathJax {version} copied to {dest}")


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("build-finished", _copy)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
