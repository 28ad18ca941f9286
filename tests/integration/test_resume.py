"""Resuming from last.ckpt continues the run: step count, epoch, optimizer and schedule."""

from __future__ import annotations

from pathlib import Path

import torch

from flowdiff.training import build


def fit(cfg):
    datamodule, model, trainer = build(cfg)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return model, trainer


def test_resume_from_last_ckpt_continues_the_step_count(make_config, tmp_path):
    first_model, first = fit(make_config("train", "max_epochs=2", "experiment=toy2d"))
    last = Path(first.default_root_dir) / "checkpoints" / "last.ckpt"
    assert last.is_file()
    assert first.global_step == 4  # 2 epochs x limit_train_batches=2
    lr_before = first.optimizers[0].param_groups[0]["lr"]

    saved = torch.load(last, weights_only=False)
    assert saved["global_step"] == 4 and saved["epoch"] == 1
    assert saved["optimizer_states"] and saved["lr_schedulers"]

    model, trainer = fit(
        make_config("train", "max_epochs=3", "experiment=toy2d", f"ckpt_path={last}")
    )
    assert trainer.global_step == 6, "resume must continue from step 4, not restart at 0"
    assert trainer.current_epoch == 3
    # The schedule continued: the LR after resuming is the one for step 6, not step 2.
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == 6
    assert trainer.optimizers[0].param_groups[0]["lr"] != lr_before
    assert torch.equal(model.normalizer.shift, first_model.normalizer.shift)
