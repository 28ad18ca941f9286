"""``<group>=null`` on the command line: Hydra's ``~<group>`` for a config group, untouched
for a plain key."""

from __future__ import annotations

from flowdiff.config.null_groups import null_groups_removed
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


def test_null_in_a_sweep_list_of_a_group_is_no_option():
    """``-m logger=null,csv`` (logging off, then CSV) was Hydra's "Config group override must be
    a string or a list. Got NoneType"; ``[]`` selects no option of the group."""
    args = ["-m", "logger=null,csv", "model/lr_scheduler=cosine,NULL", "base_lr=1e-3,2e-3"]
    assert null_groups_removed(args, CONFIG_DIR) == [
        "-m",
        "logger=[],csv",
        "model/lr_scheduler=cosine,[]",
        "base_lr=1e-3,2e-3",
    ]
    keys = ["callbacks.ema=null,0.99", "ckpt_path=null,last"]  # plain keys: null is a value
    assert null_groups_removed(keys, CONFIG_DIR) == keys


def test_compose_config_from_python_takes_group_null(tmp_path):
    """``compose_config("train", ["logger=null"])`` (the docs' spelling, from Python) was Hydra's
    "Config group override must be a string or a list. Got NoneType"."""
    from flowdiff.config import compose_config

    cfg = compose_config("train", ["logger=null"], output_dir=tmp_path)
    assert cfg.get("logger") is None
    assert compose_config("train", [], output_dir=tmp_path).logger.tensorboard
