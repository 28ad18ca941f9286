"""A deprecated name typed on a command line prints one line naming the program (issue 21)."""

from __future__ import annotations

import sys
import warnings

from flowdiff.cli.errors import run_cli
from flowdiff.errors import warn_renamed


def test_a_renamed_setting_prints_one_line_and_other_warnings_are_left_alone(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["flowdiff-sample"])
    show = warnings.showwarning

    def main():
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warn_renamed("model.sampler.num_inference_steps", "model.sampler.steps")
            assert warnings.showwarning is not show  # the one-line form is installed

    run_cli(main)
    err = capsys.readouterr().err
    assert err == (
        "flowdiff-sample: warning: model.sampler.num_inference_steps is deprecated; "
        "use model.sampler.steps (same meaning).\n"
    )
    assert warnings.showwarning is show  # restored after the command
