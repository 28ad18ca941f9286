"""The one way the acceptance suite shortens what it runs: limits appended to a command.

Each shell command that runs a flowdiff console script gets these overrides appended (after what
the page wrote, so they win), and nothing else changes: no ``run_name=``, no ``hydra.*.dir=``,
no other key that moves files or changes what is exercised. Python blocks run exactly as written.

- ``flowdiff-train``: one epoch of at most two training batches and one validation batch; an
  Optuna search (``hparams_search=...``) two trials.
- ``flowdiff-sample``: four samples. ``flowdiff-eval``: 200 samples (and 50 for its likelihood).
"""

from __future__ import annotations

import shlex

TRAIN = ["max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]
OPTUNA = ["hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.n_startup_trials=1"]
LIMITS = {
    "flowdiff-train": TRAIN,
    "flowdiff-sample": ["num_samples=4"],
    "flowdiff-eval": ["num_samples=200", "nll.num_samples=50"],
}
MODULES = {f"flowdiff.cli.{name.split('-')[1]}": name for name in LIMITS}


def program(words: list[str]) -> str | None:
    """The flowdiff console script a command runs (``flowdiff-train`` also for
    ``python -m flowdiff.cli.train``), or ``None``."""
    for i, word in enumerate(words):
        if word in LIMITS:
            return word
        if word == "-m" and i + 1 < len(words) and words[i + 1] in MODULES:
            return MODULES[words[i + 1]]
    return None


def logical_lines(text: str) -> list[str]:
    """The block's commands: continuation lines joined, blank and comment-only lines dropped."""
    joined = text.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def split_comment(line: str) -> tuple[str, str]:
    """``(command, trailing comment)``: the comment starts at the first ``#`` outside quotes
    that follows whitespace."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i:]
    return line.rstrip(), ""


def with_limits(line: str) -> str:
    """``line`` with :data:`LIMITS` appended when it runs a flowdiff console script."""
    command, _ = split_comment(line)
    name = program(shlex.split(command))
    if name is None:
        return command
    extra = list(LIMITS[name])
    if name == "flowdiff-train" and "hparams_search=" in command:
        extra += OPTUNA
    return " ".join([command, *extra])
