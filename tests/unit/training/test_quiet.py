"""Quiet from Python: ``flowdiff.training.fit`` shows progress and its result line, not
Lightning's announcements, the seed line, the model summary or torch's LeafSpec warning;
``flowdiff-train`` (``quiet=False``) keeps them."""

from __future__ import annotations

import logging
import warnings

import pytest
from lightning.pytorch.callbacks import LearningRateMonitor

from flowdiff.training import fit
from flowdiff.training.quiet import LIGHTNING_LOGGERS, lightning_info_off
from flowdiff.training.train_job import without_logger_callbacks

CHATTER = ("GPU available", "TPU available", "Tip:", "Seed set", "Total params", "stepping batches")


def _fit_output(make_config, capfd, caplog, quiet: bool) -> str:
    """Everything the fit printed, logged (Lightning logs through ``logging``) or warned."""
    cfg = make_config("train", "logger=[]")
    capfd.readouterr()
    caplog.set_level(logging.INFO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(cfg, quiet=quiet)
    text = "".join(capfd.readouterr()) + caplog.text
    return text + "".join(str(w.message) for w in caught)


def test_fit_from_python_is_quiet(make_config, capfd, caplog):
    text = _fit_output(make_config, capfd, caplog, quiet=True)
    assert "Training ended at epoch 1" in text
    assert not [line for line in CHATTER if line in text], text
    assert "LeafSpec" not in text


def test_the_console_run_keeps_lightning_s_lines(make_config, capfd, caplog):
    text = _fit_output(make_config, capfd, caplog, quiet=False)
    assert "GPU available" in text and "Total params" in text
    assert "LeafSpec" not in text


@pytest.mark.parametrize("quiet", [True, False])
def test_levels_are_restored(quiet):
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    before = [logger.level for logger in loggers]
    with lightning_info_off(quiet):
        inside = [logger.getEffectiveLevel() for logger in loggers]
    assert all(level >= logging.WARNING for level in inside) == quiet
    assert [logger.level for logger in loggers] == before


def test_logger_callbacks_follow_the_loggers_out():
    monitor, other = LearningRateMonitor(), object()
    assert without_logger_callbacks([monitor, other]) == [other]
