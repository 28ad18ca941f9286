"""The acceptance suite's count: blocks run and skipped (with the reasons), printed at the end."""

from __future__ import annotations

from collections import Counter

from tests.acceptance.blocks import Block, all_blocks

_RAN: list[Block] = []
_SKIPPED: list[Block] = []


def record(block: Block, ran: list[str] | None) -> None:
    """Note that ``block`` ran (``ran``: what was run) or was skipped (``None``)."""
    (_RAN if ran is not None else _SKIPPED).append(block)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _RAN and not _SKIPPED:
        return
    every = all_blocks()
    write = terminalreporter.write_line
    marked = [b for b in every if b.skip]
    write(
        f"acceptance: {len(_RAN)} blocks ran, {len(_SKIPPED)} skipped by their page's marker "
        f"(in all: {len(every)} blocks in README.md and docs/*.md, {len(marked)} marked skip)"
    )
    for reason, count in Counter(b.skip for b in _SKIPPED).most_common():
        write(f"  skipped {count}x: {reason}")
