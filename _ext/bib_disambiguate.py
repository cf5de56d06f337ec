"""Author-year labels that tell works apart: ``Agrawal et al., 2024a`` and ``2024b``.

sphinxcontrib-bibtex's ``author_year`` style labels a citation by first author and year only, so two
papers by the same first author in the same year (Sarathi-Serve and Vidur) both read
"Agrawal et al., 2024". Author-year styles (APA, natbib) add a letter to the year. This extension
does that once all documents are read, before sphinxcontrib-bibtex formats its labels: entries whose
label (first author's last name, "et al." for three or more authors, and year) collides get
``a``, ``b``, ... appended to the year, ordered by title, so the citation and the reference list agree.
The ``.bib`` file itself stays standard.
"""

from __future__ import annotations

import re
from collections import defaultdict

_SUFFIXED = re.compile(r"^(\d{4})[a-z]$")


def _label(entry) -> tuple[str, str] | None:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if not people:
        return None
    names = [" ".join(p.last_names) for p in people]
    who = names[0] if len(names) == 1 else (" and ".join(names) if len(names) == 2 else names[0] + " et al.")
    year = entry.fields.get("year", "")
    match = _SUFFIXED.match(year)
    return who, match.group(1) if match else year


def disambiguate(entries) -> dict[str, str]:
    """Give colliding author-year labels a letter suffix on ``year``; return ``{key: new_year}``."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for key, entry in entries.items():
        label = _label(entry)
        if label is not None and label[1]:
            groups[label].append((key, entry))
    changed = {}
    for (_who, year), members in groups.items():
        if len(members) < 2:
            for _key, entry in members:
                entry.fields["year"] = year  # undo a suffix left by an earlier build
            continue
        members.sort(key=lambda item: (str(item[1].fields.get("title", "")).lower(), item[0]))
        for index, (key, entry) in enumerate(members):
            entry.fields["year"] = year + "abcdefghijklmnopqrstuvwxyz"[index]
            changed[key] = entry.fields["year"]
    return changed


def _on_env_updated(app, env):
    domain = env.get_domain("cite")
    bibdata = getattr(domain, "bibdata", None)
    if bibdata is not None:
        disambiguate(bibdata.data.entries)
    return []


def setup(app):
    # before sphinxcontrib-bibtex's own env-updated handler (priority 500) formats the labels
    app.connect("env-updated", _on_env_updated, priority=400)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
