"""mkdocs.yml and docs/ agree: every page is in the navigation and every entry has its page, so
the site (built with mkdocs build --strict in CI) shows every page and no hole. Read without
mkdocs: the suite runs where the documentation tools are not installed."""

from __future__ import annotations

import re

from tests.docs.source import ROOT

DOCS = ROOT / "docs"
#: A nav entry: ``- Title: page.md`` or ``- page.md``.
ENTRY = re.compile(r"^\s*-\s+(?:[^:\n]+:\s+)?([\w./-]+\.md)\s*$", re.M)


def nav_pages() -> list[str]:
    config = (ROOT / "mkdocs.yml").read_text("utf-8")
    nav = config.split("\nnav:\n", 1)[1]
    nav = re.split(r"\n(?=\S)", nav, maxsplit=1)[0]  # up to the next top-level key
    return ENTRY.findall(nav)


def test_the_nav_is_read() -> None:
    assert {"index.md", "quickstart.md", "cli.md", "plugins.md"} <= set(nav_pages())


def test_every_page_is_in_the_nav_once() -> None:
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    listed = nav_pages()
    assert sorted(set(pages) - set(listed)) == [], "add these pages to the nav of mkdocs.yml"
    assert len(listed) == len(set(listed))


def test_every_nav_entry_has_its_page() -> None:
    missing = [page for page in nav_pages() if not (DOCS / page).is_file()]
    assert missing == [], f"mkdocs.yml lists pages that do not exist: {missing}"


def test_every_link_between_pages_resolves() -> None:
    """A link to a file outside docs/ (../CHANGELOG.md) works on a forge but not on the site."""
    broken = []
    for page in sorted(DOCS.rglob("*.md")):
        text = re.sub(r"```.*?```", "", page.read_text("utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:|#", target):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.is_file() or DOCS.resolve() not in path.parents:
                broken.append(f"{page.name}: {target}")
    assert broken == [], f"links that break on the site: {broken}"
