"""Every relative link in the README, the docs pages, the study results and the configs' comments
points at a file that exists, and at a heading that exists when it names an anchor."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "studies" / "results").glob("*.md")),
]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))

MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CONFIG_LINK = re.compile(r"\b(docs/[\w./-]+\.md(?:#[\w-]+)?)")
FENCE = re.compile(r"^\s*```")


def prose(text: str) -> str:
    """``text`` without its fenced code blocks (links and headings inside them are not links)."""
    kept, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """The anchors of ``page``'s headings, with GitHub's ``-1``, ``-2`` for repeated ones."""
    seen: dict[str, int] = {}
    found = set()
    for match in re.finditer(r"^#{1,6} (.+)$", prose(page.read_text()), flags=re.M):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken(source: Path, target: str, base: Path) -> str | None:
    """Why ``target`` (a link written in ``source``, relative to ``base``) does not resolve."""
    path, _, anchor = target.partition("#")
    where = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source.name
    resolved = (base / path).resolve() if path else source
    if not resolved.exists():
        return f"{where}: {target} -> no such file"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"{where}: {target} -> no heading #{anchor}"
    return None


def page_links(page: Path) -> list[str]:
    return [
        link
        for link in MARKDOWN_LINK.findall(prose(page.read_text()))
        if not re.match(r"[a-z]+:", link)  # http:, https:, mailto:
    ]


def test_there_are_links_to_check():
    assert sum(len(page_links(page)) for page in PAGES) > 50


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_links_resolve(page):
    problems = [broken(page, link, page.parent) for link in page_links(page)]
    assert [p for p in problems if p] == []


def test_config_comments_point_at_existing_docs():
    problems = [
        broken(config, link, ROOT)
        for config in CONFIGS
        for link in CONFIG_LINK.findall(config.read_text())
    ]
    assert [p for p in problems if p] == []


def test_a_broken_link_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [bad](#nope) [gone](missing.md)\n")
    problems = [broken(page, link, tmp_path) for link in page_links(page)]
    assert problems[0] is None and "no heading #nope" in problems[1]
    assert "no such file" in problems[2]
