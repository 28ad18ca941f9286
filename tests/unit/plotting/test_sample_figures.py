"""Validation figures: rate-limited PNGs under samples/ and images in TensorBoard."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from flowdiff.training import train


def test_figures_every_n_epochs_and_at_the_end_in_png_and_tensorboard(make_config):
    cfg = make_config(
        "train",
        "max_epochs=3",
        "callbacks.sample_figures.every_n_epochs=2",
        "trainer.log_every_n_steps=1",
    )
    train(cfg)
    run = Path(cfg.hydra.runtime.output_dir)
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["epoch001.png", "final.png"]
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0}).Reload()
    images = events.Images("val/samples")
    assert [image.step for image in images] == [4, 6]  # after epochs 2 and 3 (2 steps each)
    assert all(image.width > 300 and image.height > 300 for image in images)
    assert {"train/loss_step", "val/loss", "lr-AdamW/pg1"} <= set(events.Tags()["scalars"])
