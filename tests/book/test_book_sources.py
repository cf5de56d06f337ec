"""Static checks of the book's sources (no build, no kernel, no browser)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
MAX_NOTEBOOK_BYTES = 500_000  # inline BokehJS alone would be 3-8 MB
yaml = pytest.importorskip("yaml")


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text("utf8"))


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["file"]] if "file" in node else []
        if "root" in node:
            found.append(node["root"])
        return found + [f for v in node.values() for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _toc_files(v)]
    return []


def test_every_chapter_is_in_the_toc():
    toc = {
        f.removesuffix(".ipynb").removesuffix(".md")
        for f in _toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    }
    missing = [p.relative_to(ROOT).with_suffix("").as_posix() for p in CHAPTERS]
    missing = [m for m in missing if m not in toc]
    assert not missing, f"notebooks not listed in _toc.yml (only_build_toc_files drops them): {missing}"


def test_repository_url_is_in_one_place():
    url = _config()["repository"]["url"].rstrip("/")
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    holders = []
    for name in tracked:
        if name == "README.md":  # the lead's project README, outside the book
            continue
        path = ROOT / name
        if path.is_file() and path.suffix in {".md", ".yml", ".yaml", ".cff", ".ipynb", ".py", ".txt", ".bib"}:
            if url in path.read_text("utf8", errors="replace"):
                holders.append(name)
    # CITATION.cff is read by tools that cannot read _config.yml; a test below checks it agrees
    assert holders == ["CITATION.cff", "_config.yml"], (
        f"the repository URL must live only in _config.yml, found in {holders}"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_notebook_outputs_are_small_and_current(path):
    bokeh = pytest.importorskip("bokeh")
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name} is {path.stat().st_size} bytes: inline BokehJS?"
    nb = json.loads(path.read_text("utf8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        outputs = cell.get("outputs", [])
        if cell.get("source") and cell["metadata"].get("mystnb", {}).get("figure"):
            rich = [o for o in outputs if o["output_type"] in ("display_data", "execute_result")]
            assert len(rich) == 1, f"{path.name} cell {i}: a labelled figure needs exactly one output, has {len(rich)}"
        for out in outputs:
            data = out.get("data", {})
            assert not any(k.startswith("application/vnd.bokehjs") for k in data), (
                f"{path.name} cell {i}: notebook-mode Bokeh output (inline BokehJS); use show_figure()"
            )
            html = "".join(data.get("text/html", []))
            versions = set(re.findall(r'\{"version":"([^"]+)"', html))
            assert versions <= {bokeh.__version__}, (
                f"{path.name} cell {i}: Bokeh output from {versions}, installed {bokeh.__version__}: re-execute"
            )
    assert any(c["cell_type"] == "code" and c.get("outputs") for c in nb["cells"]), f"{path.name} has no stored outputs"


def test_citation_cff_validates_and_agrees_with_the_book():
    """CITATION.cff against the Citation File Format 1.2.0 JSON Schema (schema.json of
    https://github.com/citation-file-format/citation-file-format, commit 0c5b4aa, CC-BY-4.0),
    and its URLs, version and date against the book's single sources."""
    import jsonschema

    import llmviewer

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text("utf8"))
    schema = json.loads((ROOT / "tests" / "book" / "cff-schema-1.2.0.json").read_text("utf8"))
    jsonschema.validate(cff, schema, format_checker=jsonschema.FormatChecker())
    assert cff["cff-version"] == "1.2.0"
    assert cff["title"] == _config()["title"]
    assert cff["repository-code"] == _config()["repository"]["url"].rstrip("/")
    assert cff["url"] == _config()["html"]["baseurl"]
    assert cff["version"] == llmviewer.__version__
    zenodo = json.loads((ROOT / ".zenodo.json").read_text("utf8"))
    assert zenodo["version"] == cff["version"] and zenodo["publication_date"] == cff["date-released"]


def test_citation_cff_schema_check_can_fail():
    import jsonschema

    schema = json.loads((ROOT / "tests" / "book" / "cff-schema-1.2.0.json").read_text("utf8"))
    bad = {**yaml.safe_load((ROOT / "CITATION.cff").read_text("utf8")), "date-released": "28 Nov 2026"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def _figure_labels(path: Path) -> list[str]:
    cells = json.loads(path.read_text("utf8"))["cells"]
    return [c["metadata"]["mystnb"]["figure"]["name"] for c in cells if "figure" in c["metadata"].get("mystnb", {})]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_figure_has_its_data(path):
    labels = _figure_labels(path)
    assert labels, f"{path.name} has no labelled figure"
    for label in labels:
        assert label.startswith("fig-"), label
        assert (ROOT / "chapters" / "figures" / f"{label}.csv").is_file(), f"no chapters/figures/{label}.csv"


def test_author_year_labels_are_distinct():
    """Two works by one first author in one year get 2024a/2024b; every label in the .bib is unique."""
    import sys

    parse_file = pytest.importorskip("pybtex.database").parse_file

    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        from bib_disambiguate import _label, disambiguate
    finally:
        sys.path.remove(str(ROOT / "_ext"))
    entries = parse_file(str(ROOT / "references.bib")).entries
    changed = disambiguate(entries)
    assert changed["agrawal2024sarathiserve"] != changed["agrawal2024vidur"]
    labels = [(_label(e)[0], e.fields["year"]) for e in entries.values() if _label(e) is not None]
    assert len(labels) == len(set(labels)), sorted(label for label in labels if labels.count(label) > 1)
    # the survey and the tool it released are told apart too
    assert _label(entries["yuan2024llminference"])[0] != _label(entries["llmviewer"])[0]
    # a second pass (a cached environment) does not add a second letter
    assert disambiguate(entries) == changed


def test_truncated_author_lists_render_as_et_al():
    """An author list cut with "and others" names at least two people first: the author-year
    style writes "Jiang et al." for three names or more, but "Jiang and others" for one name
    followed by "others"."""
    parse_file = pytest.importorskip("pybtex.database").parse_file
    short = []
    for key, entry in parse_file(str(ROOT / "references.bib")).entries.items():
        people = entry.persons.get("author", [])
        if people and str(people[-1]) == "others" and len(people) < 3:
            short.append(key)
    assert not short, f"name two authors before 'and others' in: {', '.join(short)}"
