"""Validation figures: rate-limited PNGs under samples/ and images in TensorBoard."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from flowdiff.training import build, train
from flowdiff.training.callbacks import SampleFigures, sample_figures


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


def test_figures_stay_within_their_time_budget_and_say_so(make_config, monkeypatch):
    said = []
    monkeypatch.setattr(sample_figures, "rank_zero_info", said.append)
    cfg = make_config("train", "callbacks.sample_figures.max_seconds=1e-9")
    train(cfg)  # one sample per figure: the figure is still drawn
    assert (Path(cfg.hydra.runtime.output_dir) / "samples" / "final.png").is_file()
    assert len(said) == 1 and "Sample figures: 1 of 100 samples each" in said[0]
    assert "callbacks.sample_figures.max_seconds" in said[0]

    datamodule, model, _ = build(make_config("train"))
    datamodule.setup("fit")
    batch = next(iter(datamodule.val_dataloader()))
    assert SampleFigures(num_samples=7, max_seconds=1e3).samples_per_figure(model, batch) == 7
    assert SampleFigures(num_samples=7, max_seconds=None).samples_per_figure(model, batch) == 7
    assert len(said) == 1
