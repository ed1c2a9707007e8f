"""Every relative link in the README, docs/, benchmarks/README.md and CHANGELOG.md resolves.

A cited benchmark record must exist and say which command, commit and machine made it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.common import ROOT

DOCUMENTS = sorted(
    [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")]
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(document: Path) -> list[str]:
    """Relative link targets of a Markdown file (code blocks left out)."""
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.DOTALL)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def anchors(document: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document):
    assert document.is_file()
    for target in links(document):
        path_part, _, anchor = target.partition("#")
        path = (document.parent / path_part).resolve() if path_part else document
        assert path.exists(), f"{document.relative_to(ROOT)} links to missing {target}"
        if anchor:
            assert anchor in anchors(path), f"{document.relative_to(ROOT)} links to missing anchor {target}"


def test_the_readme_reaches_every_document_and_record():
    readme = {(ROOT / t.partition("#")[0]).resolve() for t in links(ROOT / "README.md")}
    for doc in [*(ROOT / "docs").glob("*.md"), ROOT / "benchmarks" / "README.md", ROOT / "LICENSE"]:
        assert doc.resolve() in readme, f"README.md does not link to {doc.relative_to(ROOT)}"


def test_cited_records_say_how_they_were_made():
    cited = {
        (document.parent / t.partition("#")[0]).resolve()
        for document in DOCUMENTS
        for t in links(document)
        if t.partition("#")[0].endswith(".json")
    }
    assert cited, "no benchmark record is cited"
    for path in cited:
        record = json.loads(path.read_text())
        # defaults.json holds one record per command; others (zero_cost.json's "search") are figures
        sections = [record[k] for k in ("search", "grid") if "command" in record.get(k, {})] or [record]
        for section in sections:
            assert section["command"].startswith("python -m benchmarks."), path
            assert section["commit"] and section["machine"]["torch"], path


def test_the_command_table_lists_every_command():
    """Every ``python -m`` module of the packages (a ``__main__``, or a module that runs ``main()``) is in docs/commands.md's table."""
    commands = set()
    for package in ("search_spaces", "nas", "scaling"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "__main__.py":
                commands.add(".".join(path.parent.relative_to(ROOT).parts))
            elif 'if __name__ == "__main__":' in path.read_text():
                commands.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    table = (ROOT / "docs" / "commands.md").read_text().split("| command |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"\[`([a-z_.]+)`\]", table))
    assert commands == listed
