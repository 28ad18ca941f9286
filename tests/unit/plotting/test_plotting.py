"""Figures: the right panels for each data kind, curves read back from TensorBoard records."""

from __future__ import annotations

import matplotlib.image
import pytest
import torch
from torch.utils.tensorboard import SummaryWriter

from flowdiff.plotting import (
    comparison_figure,
    curves_figure,
    density_figure,
    histogram_figure,
    metrics_series,
    read_metrics,
    read_scalars,
    save_figure,
    sweep_figure,
    trajectory_figure,
)


def test_histograms_per_feature_for_vectors_and_per_channel_for_images():
    vectors = histogram_figure(torch.randn(50, 5), torch.randn(60, 5))
    assert [ax.get_title() for ax in vectors.axes if ax.axison][-1] == "feature 4"
    images = histogram_figure(torch.randn(20, 3, 4, 4), torch.randn(20, 3, 4, 4))
    assert [ax.get_title() for ax in images.axes if ax.axison] == [
        "channel 0",
        "channel 1",
        "channel 2",
    ]


def test_density_and_trajectories_of_2d_samples(tmp_path):
    density = density_figure(torch.randn(500, 2), torch.randn(400, 2))
    assert len(density.axes) == 2
    trajectory = torch.cumsum(torch.randn(6, 30, 2), dim=0)
    figure = trajectory_figure(trajectory)
    assert len(figure.axes[0].lines) == 30  # one path per sample
    save_figure(figure, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_curves_read_back_from_tensorboard(tmp_path):
    writer = SummaryWriter(tmp_path)
    for step in range(5):
        writer.add_scalar("train/loss_step", 1.0 / (step + 1), step)
        writer.add_scalar("lr-AdamW/pg1", 0.1 * step, step)
        writer.add_scalar("epoch", 0, step)
    writer.close()
    scalars = read_scalars(tmp_path)
    assert scalars["train/loss_step"][0] == [0, 1, 2, 3, 4]
    loss_ax, lr_ax = curves_figure(scalars).axes
    assert [line.get_label() for line in loss_ax.lines] == ["train/loss_step"]
    assert [line.get_label() for line in lr_ax.lines] == ["lr-AdamW/pg1"]
    assert curves_figure({"epoch": ([0], [0.0])}) is None


def test_metrics_table_curves_against_the_epoch_with_resumed_rows_replacing(tmp_path):
    table = tmp_path / "metrics.csv"
    table.write_text(
        "epoch,step,train_loss,val_loss,lr\n"
        "0,10,4.0,3.0,0.001\n1,20,2.0,,0.001\n"
        "1,20,1.5,1.0,0.0005\n2,30,0.1,0.2,0.0001\n"  # resumed after epoch 0: epoch 1 again
    )
    series = metrics_series(read_metrics(table))
    assert series["train/loss"] == ([0, 1, 2], [4.0, 1.5, 0.1])
    assert series["val/loss"] == ([0, 1, 2], [3.0, 1.0, 0.2])
    loss_ax, lr_ax = curves_figure(series, x_label="epoch").axes
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_yscale() == "log"  # 40x range
    assert [line.get_label() for line in lr_ax.lines] == ["lr"]
    no_lr = {tag: s for tag, s in series.items() if tag != "lr"}
    assert len(curves_figure(no_lr).axes) == 1


def test_sweep_figure_lines_floor_and_log_scale():
    rows = [
        {"run": "a", "kind": "euler", "nfe": n, "w2": 10.0 / n, "mmd": 0.1 - 0.01 * n}
        for n in (1, 2, 4, 8)
    ]
    fig = sweep_figure(rows, ["w2", "mmd"], {"a": {"w2": 0.5}})
    w2_ax, mmd_ax = fig.axes
    assert w2_ax.get_yscale() == "linear" and mmd_ax.get_yscale() == "linear"
    assert [line.get_label() for line in w2_ax.lines] == ["euler", "real vs real"]
    rows.append({"run": "a", "kind": "rk4", "nfe": 16, "w2": 500.0, "mmd": 0.0})
    assert sweep_figure(rows, ["w2"]).axes[0].get_yscale() == "log"  # values span decades


@pytest.mark.parametrize("count", [1, 7, 64, 1797])
@pytest.mark.parametrize("labelled", [False, True])
def test_sample_grid_is_capped_and_about_square_for_any_count(count, labelled, tmp_path):
    from flowdiff.inference.writers import write_figures
    from flowdiff.plotting.samples import MAX_GRID_IMAGES

    images = torch.rand(count, 1, 8, 8)
    cond = torch.arange(count) % 10 if labelled else None
    fig = comparison_figure(images, images, cond)
    for ax in fig.axes:
        height, width = ax.images[0].get_array().shape
        shown = min(count, MAX_GRID_IMAGES)
        assert 0.4 <= height / width <= 1.5, (height, width)  # not a 10 x 180 strip
        assert (height // 9) * (width // 9) >= shown  # every shown image has a cell
        assert ("of 1797" in ax.get_title()) == (count > MAX_GRID_IMAGES)
    write_figures(tmp_path, images, cond, None, None, per_sample=False)
    png = matplotlib.image.imread(tmp_path / "samples.png")
    assert 0.5 <= png.shape[0] / png.shape[1] <= 2


def test_a_single_2d_sample_is_plotted_without_a_warning(recwarn, tmp_path):
    fig = comparison_figure(torch.tensor([[0.9, 0.2]]))
    save_figure(fig, tmp_path / "one.png")
    assert not [w for w in recwarn if "identical low and high" in str(w.message)]
    x_low, x_high = fig.axes[0].get_xlim()
    assert x_low < 0.9 < x_high
