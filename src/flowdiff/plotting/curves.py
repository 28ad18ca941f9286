"""Loss and learning-rate curves read back from a run's TensorBoard records."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

#: (steps, values) of one scalar tag.
Series = tuple[list[int], list[float]]


def read_scalars(folder: Path | str) -> dict[str, Series]:
    """Every scalar logged under ``folder`` (a run's ``tensorboard/``), by tag, in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, dict[int, float]] = {}
    for file in sorted(Path(folder).rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(file), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            points = scalars.setdefault(tag, {})
            points.update({event.step: event.value for event in accumulator.Scalars(tag)})
    return {tag: (sorted(p), [p[s] for s in sorted(p)]) for tag, p in scalars.items()}


def curves_figure(scalars: dict[str, Series]) -> Figure | None:
    """Losses (``*loss*`` tags) and learning rates (``lr*`` tags) against the step, in two
    panels; ``None`` when neither was logged."""
    losses = {tag: s for tag, s in scalars.items() if "loss" in tag}
    # LearningRateMonitor logs `lr-<Optimizer>` or, per parameter group, `lr-<Optimizer>/pg1`.
    rates = {tag: s for tag, s in scalars.items() if tag.split("/")[0].startswith("lr")}
    if not losses and not rates:
        return None
    fig = Figure(figsize=(11, 4))
    loss_ax, lr_ax = fig.subplots(1, 2)
    for tag, (steps, values) in sorted(losses.items()):
        style = "o-" if len(steps) < 30 else "-"
        thin = {"alpha": 0.35, "linewidth": 0.8} if tag.endswith("_step") else {}
        loss_ax.plot(steps, values, style, markersize=3, label=tag, **thin)
    loss_ax.set(xlabel="step", ylabel="loss", yscale="log", title="loss")
    for tag, (steps, values) in sorted(rates.items()):
        lr_ax.plot(steps, values, label=tag)
    lr_ax.set(xlabel="step", ylabel="learning rate", title="learning rate")
    for ax in (loss_ax, lr_ax):
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
