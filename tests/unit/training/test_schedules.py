"""Learning-rate schedules: warm-up and decay arithmetic, and Lightning stepping them once per
optimizer step (gradient accumulation included)."""

from __future__ import annotations

import math

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from flowdiff import optim
from flowdiff.optim import lr_scheduler_config, warmup_steps_for
from flowdiff.optim.configure import parameter_groups
from flowdiff.training import build, train
from tests.helpers.config import CONFIG_DIR

SCHEDULES = sorted(path.stem for path in (CONFIG_DIR / "model" / "lr_scheduler").glob("*.yaml"))
OPTIMIZERS = sorted(path.stem for path in (CONFIG_DIR / "model" / "optimizer").glob("*.yaml"))


def lrs(scheduler, steps: int) -> list[float]:
    """Learning rate used at optimizer steps 0..steps-1."""
    optimizer = scheduler.optimizer
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return values


def sgd(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_warmup_ratio_wins_over_steps_and_is_checked():
    assert warmup_steps_for(1000, warmup_steps=7) == 7
    assert warmup_steps_for(1000, warmup_steps=7, warmup_ratio=0.05) == 50
    assert warmup_steps_for(1000, warmup_steps=7, warmup_ratio=0.0) == 0
    with pytest.raises(ValueError, match=r"warmup_ratio=1\.5"):
        warmup_steps_for(1000, warmup_ratio=1.5)
    with pytest.raises(ValueError, match="warmup_steps=-1"):
        warmup_steps_for(1000, warmup_steps=-1)


def test_warmup_is_linear_and_reaches_the_base_rate():
    values = lrs(optim.constant(sgd(2.0), total_steps=20, warmup_steps=4), 6)
    assert values == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.0, 2.0])


def test_cosine_and_linear_decay_to_the_floor_at_total_steps():
    total, warmup, floor = 30, 10, 0.1
    cos = lrs(optim.cosine(sgd(), total, warmup_steps=warmup, min_lr_ratio=floor), total + 3)
    lin = lrs(optim.linear(sgd(), total, warmup_steps=warmup, min_lr_ratio=floor), total + 3)
    for s in range(warmup, total + 3):
        progress = min(1.0, (s - warmup) / (total - warmup))
        assert cos[s] == pytest.approx(
            floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        )
        assert lin[s] == pytest.approx(1 - (1 - floor) * progress)
    assert cos[total] == pytest.approx(floor) and lin[total] == pytest.approx(floor)


def test_exponential_step_and_multistep():
    assert lrs(optim.exponential(sgd(), 10, gamma=0.5), 4) == pytest.approx([1, 0.5, 0.25, 0.125])
    step = lrs(optim.step(sgd(), 10, step_size=3, gamma=0.1), 7)
    assert step == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01])
    multi = lrs(optim.multistep(sgd(), 10, milestones=[2, 5], gamma=0.5, warmup_steps=2), 9)
    # Two warm-up steps, then milestones counted from the end of the warm-up.
    assert multi == pytest.approx([0.5, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    reference = torch.optim.lr_scheduler.MultiStepLR(sgd(), milestones=[2, 5], gamma=0.5)
    assert lrs(optim.multistep(sgd(), 10, milestones=[2, 5], gamma=0.5), 7) == pytest.approx(
        lrs(reference, 7)
    )


def test_bad_options_name_the_argument():
    with pytest.raises(ValueError, match=r"^gamma=1.5"):
        optim.exponential(sgd(), 10, gamma=1.5)
    with pytest.raises(ValueError, match=r"^step_size=0"):
        optim.step(sgd(), 10, step_size=0)


def test_scheduler_configs_step_per_optimizer_step_except_plateau():
    for name in SCHEDULES:
        factory = instantiate(
            OmegaConf.load(CONFIG_DIR / "model" / "lr_scheduler" / f"{name}.yaml")
        )
        config = lr_scheduler_config(factory, sgd(), total_steps=100)
        expected = ("epoch", "val/loss") if name == "plateau" else ("step", None)
        assert (config["interval"], config.get("monitor")) == expected, name


def test_any_torch_scheduler_by_target():
    factory = instantiate(
        {"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True, "step_size": 2}
    )
    config = lr_scheduler_config(factory, sgd(), total_steps=100)
    assert isinstance(config["scheduler"], torch.optim.lr_scheduler.StepLR)
    assert config["interval"] == "step"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_configs_skip_weight_decay_on_biases_and_norms(make_config, name):
    cfg = make_config("train", f"model/optimizer={name}", "model.optimizer.weight_decay=0.01")
    _, model, _ = build(cfg)
    optimizer = model.optimizer_factory(parameter_groups(model, 0.01))
    decays = {p.ndim >= 2: g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert decays == {True: 0.01, False: 0.0}
    assert optimizer.param_groups[0]["lr"] == cfg.base_lr


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_schedule_trains(make_config, name):
    cfg = make_config("train", f"model/lr_scheduler={name}", "trainer.fast_dev_run=true")
    assert train(cfg)["val/loss"] > 0


def test_accumulation_steps_the_schedule_per_optimizer_step(make_config):
    cfg = make_config(
        "train", "experiment=toy2d", "multistep=2", "trainer.limit_train_batches=4", "max_epochs=2"
    )
    assert cfg.trainer.accumulate_grad_batches == 2
    datamodule, model, trainer = build(cfg)
    trainer.fit(model, datamodule=datamodule)
    assert trainer.global_step == 4  # 2 epochs x 4 batches / 2
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == 4
