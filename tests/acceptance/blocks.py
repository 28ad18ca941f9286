"""The fenced code blocks of README.md and docs/*.md, as a user would copy them.

A block is a ``bash``/``sh``/``shell``/``console`` fence (shell commands) or a ``python`` fence.
Fences without a language (file trees, diagrams) and ``text`` fences are not commands. A block
that cannot run here carries, on the line directly before its fence::

    <!-- acceptance: skip: <reason> -->
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.config import REPO

SHELL = ("bash", "sh", "shell", "console")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
SKIP = re.compile(r"^\s*<!--\s*acceptance:\s*skip:\s*(?P<reason>.+?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text (dedented) and why it is skipped."""

    page: str  # relative to the repository, e.g. docs/training.md
    line: int  # 1-based line of the opening fence
    language: str  # "shell" or "python"
    text: str
    skip: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every docs/*.md page."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """The shell and Python blocks of ``page``, in order."""
    lines = page.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, language = len(opening.group(1)), opening.group(2).lower()
        end = next(j for j in range(i + 1, len(lines)) if FENCE.match(lines[j]))
        body = "\n".join(line[indent:] for line in lines[i + 1 : end])
        kind = "shell" if language in SHELL else "python" if language == "python" else None
        skip = SKIP.match(lines[i - 1]) if i else None
        if kind is not None:
            rel = str(page.relative_to(REPO))
            found.append(Block(rel, i + 1, kind, body, skip and skip["reason"]))
        i = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]
