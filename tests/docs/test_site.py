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


def test_the_home_pages_code_fits_a_1280_pixel_window():
    """With the navigation and the table of contents beside it, a 1280-pixel window shows about
    72 characters of a code block; a longer line is cut, behind a scroll bar."""
    text = (DOCS / "index.md").read_text("utf-8")
    inside, long = False, []
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside and len(line) > 72:
            long.append(line)
    assert not long


def test_the_site_works_from_disk_search_included():
    """The README says to open site/index.html: pages must be files (not folders a browser
    lists) and the search index must come with the pages (a browser reads no JSON from disk)."""
    config = (ROOT / "mkdocs.yml").read_text("utf-8")
    assert re.search(r"^use_directory_urls: false$", config, re.M)
    plugins = config.split("\nplugins:\n", 1)[1]
    assert re.search(r"^  - offline$", plugins, re.M)


def test_the_python_reference_shows_session_before_async_session():
    page = (DOCS / "python-api.md").read_text("utf-8")
    assert "members: [Session, AsyncSession]" in page
