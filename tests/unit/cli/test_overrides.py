"""``<group>=null`` on the command line: Hydra's ``~<group>`` for a config group, untouched
for a plain key."""

from __future__ import annotations

from flowdiff.cli.overrides import null_groups_removed
from tests.helpers.config import CONFIG_DIR


def test_a_group_set_to_null_is_removed():
    args = ["-m", "logger=null", "model/lr_scheduler=null", "experiment=NULL", "max_epochs=2"]
    assert null_groups_removed(args, CONFIG_DIR) == [
        "-m",
        "~logger",
        "~model/lr_scheduler",
        "~experiment",
        "max_epochs=2",
    ]


def test_keys_and_other_values_are_left_alone():
    args = ["callbacks.ema=null", "ckpt_path=null", "logger=csv", "logger=[csv,tensorboard]"]
    assert null_groups_removed(args, CONFIG_DIR) == args
