"""What README.md and docs/*.md state about the default job matches the configs.

Figures measured once and copied into prose drift from the configs they describe (the README
once said the default job ran 164 epochs while ``configs/train.yaml`` said 150). Each claim below
is a pattern for a kind of statement the pages make about a default; every occurrence is read
back and compared with the composed config, and each pattern must still occur somewhere, so a
reworded page cannot turn its check off unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.acceptance.blocks import pages
from tests.helpers.config import CONFIG_DIR, REPO, compose_config

#: Network evaluations per step of each fixed-step ODE method.
CALLS_PER_STEP = {"euler": 1, "midpoint": 2, "heun2": 2, "rk4": 4}


@cache
def config(name: str = "train"):
    return compose_config(name, [], output_dir="/tmp/flowdiff-stated-defaults")


@cache
def digits_steps_per_epoch() -> int:
    datamodule = instantiate(config().data)
    datamodule.setup("fit")
    return len(datamodule.train_dataloader())


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _training_steps(match: re.Match) -> tuple:
    return _number(match["n"]), config().max_epochs * digits_steps_per_epoch()


def _sampler(match: re.Match) -> tuple:
    method, steps, calls = match["method"], int(match["steps"]), int(match["calls"])
    cfg = config()
    expected = (cfg.model.sampler.method, cfg.sampling_steps)
    expected += (cfg.sampling_steps * CALLS_PER_STEP[cfg.model.sampler.method],)
    return (method, steps, calls), expected


def _figure_every(match: re.Match) -> tuple:
    return int(match["n"]), config().callbacks.sample_figures.every_n_epochs


def _default_value(match: re.Match) -> tuple:
    """``key=value`` stated as the default: a config group's default choice in train.yaml, or
    the value of the first of train, sample, eval that has the key."""
    key, value = match["key"], match["value"]
    if (CONFIG_DIR / key).is_dir():
        return value, default_choice(key)
    for name in ("train", "sample", "eval"):
        found = OmegaConf.select(config(name), key, default="<absent>")
        if found != "<absent>":
            return str(value).lower(), str(found).lower()
    return key, "a key of train.yaml, sample.yaml or eval.yaml"


def default_choice(group: str) -> str:
    """The option ``configs/train.yaml``'s defaults list picks for ``group``."""
    defaults = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "train.yaml").defaults)
    return next(d[group] for d in defaults if isinstance(d, dict) and group in d)


#: (what it checks, pattern on a line of a page, (match) -> (stated, configured)).
CLAIMS: list[tuple[str, re.Pattern, Callable[[re.Match], tuple]]] = [
    (
        "epochs of the default job",
        re.compile(
            r"default\W.*?(?<!every )\b(?P<n>\d[\d,]*) epochs"
            r"|(?<!every )\b(?P<n2>\d[\d,]*) epochs \(`configs/train\.yaml`\)"
        ),
        lambda m: (_number(m["n"] or m["n2"]), config().max_epochs),
    ),
    (
        "training steps of the default job",
        re.compile(r"(?P<n>\d[\d,]*)-step default digits run"),
        _training_steps,
    ),
    (
        "the default sampler",
        re.compile(r"(?P<method>[a-z0-9]+) ODE, (?P<steps>\d+) steps = (?P<calls>\d+) network"),
        _sampler,
    ),
    (
        "sample figures' rate",
        re.compile(r"samples/\s.*every (?P<n>\d+) epochs"),
        _figure_every,
    ),
    (
        "a key=value stated as the default",
        re.compile(r"`(?P<key>[a-z_][\w.]*)=(?P<value>[^`\s]+)` \((?:the )?default\)"),
        _default_value,
    ),
    (
        "the default logger",
        re.compile(
            r"\(logger=(?P<name>\w+), the default\)|\| `logger` \| `(?P<name2>\w+)` \(default\)"
        ),
        lambda m: (m["name"] or m["name2"], default_choice("logger")),
    ),
]


def statements(pattern: re.Pattern) -> list[tuple[str, re.Match]]:
    found = []
    for page in pages():
        for number, line in enumerate(page.read_text().splitlines(), 1):
            found += [(f"{page.name}:{number}", m) for m in pattern.finditer(line)]
    return found


@pytest.mark.parametrize(("what", "pattern", "read"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_stated_defaults_match_the_configs(what, pattern, read):
    found = statements(pattern)
    assert found, f"no page states {what} any more: update or drop this check"
    for where, match in found:
        stated, configured = read(match)
        assert stated == configured, f"{where}: {match.group(0)!r}; the configs: {configured}"


#: A measured figure: a metric or score named, and a decimal figure in the same paragraph.
METRIC = re.compile(r"\b(c2st|w2|fid|mmd|nll|frechet|energy distance|scores?|scored)\b", re.I)
FIGURE = re.compile(r"(?<![\w.])\d*\.\d{2,}\b")


def _comment_paragraphs(text: str) -> list[tuple[int, str]]:
    """Each run of full-line ``#`` comments of a YAML file, and each trailing comment, with
    its first line."""
    found, start, lines = [], None, []
    for number, line in enumerate([*text.splitlines(), ""], 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            start = start or number
            lines.append(stripped)
            continue
        if lines:
            found.append((start, " ".join(lines)))
        start, lines = None, []
        if " #" in line:
            found.append((number, line.split(" #", 1)[1]))
    return found


def _prose_paragraphs(text: str) -> list[tuple[int, str]]:
    """The paragraphs of a Markdown page outside fenced blocks, with their first line."""
    found, start, lines, fenced = [], None, [], False
    for number, line in enumerate([*text.splitlines(), ""], 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if line.strip() and not fenced:
            start = start or number
            lines.append(line.strip())
            continue
        if lines:
            found.append((start, " ".join(lines)))
        start, lines = None, []
    return found


def test_configs_and_readme_link_measured_figures_instead_of_copying_them():
    """Issue 22: a figure measured once lives in one docs section; config comments and the README
    name that section (docs/benchmarks.md#...) and copy no metric values, which drift."""
    places = [(path, _comment_paragraphs) for path in sorted(CONFIG_DIR.rglob("*.yaml"))]
    places.append((REPO / "README.md", _prose_paragraphs))
    copied = [
        f"{path.relative_to(REPO)}:{line}: {METRIC.search(paragraph)[0]} ... "
        f"{FIGURE.search(paragraph)[0]}"
        for path, paragraphs in places
        for line, paragraph in paragraphs(path.read_text())
        if METRIC.search(paragraph) and FIGURE.search(paragraph)
    ]
    assert not copied, "measured figures copied (link the docs section instead):\n" + "\n".join(
        copied
    )
