"""Without trainer.profiler the Trainer gets flowdiff's free pass-through profiler; with one,
Lightning's."""

from __future__ import annotations

from lightning.pytorch.profilers import PassThroughProfiler, SimpleProfiler

from flowdiff.training import build
from flowdiff.training.no_profiler import NoProfiler


def test_no_profiler_asked_for_gives_the_shared_no_op_context(make_config):
    _, _, trainer = build(make_config())
    profiler = trainer.profiler
    assert isinstance(profiler, NoProfiler) and isinstance(profiler, PassThroughProfiler)
    first, second = profiler.profile("a"), profiler.profile("b")
    assert first is second  # no new context (nor generator) per hook call
    with first, second:  # reusable and re-entrant, as Lightning nests them
        pass
    assert profiler.summary() == ""


def test_a_profiler_asked_for_is_lightnings(make_config):
    datamodule, model, trainer = build(
        make_config("train", "max_epochs=1", "+trainer.profiler=simple")
    )
    assert isinstance(trainer.profiler, SimpleProfiler)
    trainer.fit(model, datamodule=datamodule)
    assert trainer.profiler.recorded_durations  # it profiled the hooks
