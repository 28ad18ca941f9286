"""The flowdiff-train commands of the README and of the docs pages on training and configuration
(resuming, sweeps, overrides) compose."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.helpers.config import REPO as ROOT
from tests.helpers.config import compose_config

#: (page, section title): the sections whose flowdiff-train commands must compose.
SECTIONS = (
    ("README.md", "## Train, sample, evaluate"),
    ("docs/training.md", "## Resuming"),
    ("docs/training.md", "## Sweeps and clusters"),
    ("docs/configuration.md", "## Overrides"),
)


def readme_commands() -> list[str]:
    commands = []
    for page, title in SECTIONS:
        section = (ROOT / page).read_text().split(title + "\n", 1)[1].split("\n## ", 1)[0]
        for block in re.findall(r"```bash\n(.+?)\n```", section, flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line.split("#", 1)[0])
                if "flowdiff-train" in words or "flowdiff.cli.train" in words:
                    commands.append(line)
    return commands


def overrides(command: str) -> list[str]:
    words = shlex.split(command.split("#", 1)[0])
    start = max(i for i, w in enumerate(words) if w in ("flowdiff-train", "flowdiff.cli.train"))
    kept = []
    for word in words[start + 1 :]:
        if word in ("--multirun", "-m") or word.startswith(("ckpt_path=", "--config-name=")):
            continue  # sweeping and resuming are not part of composing
        key, _, value = word.partition("=")
        if "," in value and not value.startswith("["):
            value = value.split(",")[0]  # one job of a sweep
        value = re.sub(r"<[^>]+>", "x", value)  # placeholders such as <run>
        kept.append(f"{key}={value}")
    return kept


def config_name(command: str) -> str:
    """The ``--config-name=NAME`` of ``command``, else the default ``train``."""
    found = re.search(r"--config-name=(\S+)", command)
    return found.group(1) if found else "train"


def test_the_sections_have_commands():
    assert len(readme_commands()) >= 20


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_composes(command, tmp_path):
    cfg = compose_config(config_name(command), overrides(command), output_dir=tmp_path)
    assert cfg.trainer._target_ == "lightning.pytorch.Trainer"
