"""Reflow of a fitted posterior: a student ``q(theta | x)`` that samples in one or two calls.

    posterior = PosteriorEstimator().fit(theta, x)
    fast = reflow_posterior(posterior)            # or posterior.reflow()
    samples = fast.sample((10_000,), x=x_o)       # one network call per draw

The student starts from the teacher's weights and trains, through the same config, callbacks and
Lightning ``Trainer`` as the teacher (early stopping on the validation loss included), on pairs
``(noise, teacher sample)`` drawn at every step with the teacher's sampler given the training
simulations' observations (:class:`~flowdiff.distillation.TeacherCoupling`).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from flowdiff.components import describe
from flowdiff.distillation.teacher_coupling import TeacherCoupling
from flowdiff.errors import ConfigError, DataError
from flowdiff.paths.flow_matching import FlowMatchingPath
from flowdiff.samplers.ode import ODESampler
from flowdiff.sbi.posterior import Posterior
from flowdiff.training import fit as fit_config


def reflow_posterior(
    posterior: Posterior,
    steps: int = 1,
    max_epochs: int = 200,
    teacher_steps: int | None = None,
    output_dir: str | Path | None = None,
    progress: bool = False,
) -> Posterior:
    """Train a few-step student of ``posterior`` by reflow and return it as a posterior.

    Args:
        posterior: a posterior from :meth:`PosteriorEstimator.fit` (it needs the run config and
            the training simulations, whose observations condition the teacher's draws); its
            model must be a flow-matching one. Use the result as a teacher again for 2-reflow.
        steps: Euler steps (network calls) the student samples with; 1 or 2.
        max_epochs: a cap on the student's epochs (early stopping on the validation loss, as
            configured for the teacher, usually ends it sooner).
        teacher_steps: the teacher's sampler steps for the pairs; ``None`` keeps its own.
        output_dir: the student's run folder; ``None`` trains in a temporary folder.
        progress: show the progress bar.

    Returns:
        A :class:`Posterior` around the student (same prior, config and simulations), whose
        :meth:`~Posterior.sample` takes ``steps`` Euler steps. Its ``reflow_cost`` says what
        the student cost: ``train_seconds`` (wall, the teacher's sampling included),
        ``teacher_seconds`` (the teacher's share) and ``pairs`` (teacher draws made).
    """
    teacher = check_posterior_teacher(posterior, max_epochs, "reflow_posterior")
    sampler = ODESampler(method="euler", steps=steps)  # refuses steps < 1
    path_options = {k: v for k, v in teacher.path.hparams.items() if k != "coupling"}
    coupling = TeacherCoupling.from_module(teacher, steps=teacher_steps)
    parts = {
        "network": copy.deepcopy(teacher.network).train().requires_grad_(True),
        "path": FlowMatchingPath(**path_options, coupling=coupling),
        "sampler": sampler,
    }
    start = time.perf_counter()
    fast = train_student(posterior, parts, max_epochs, output_dir, progress)
    fast.model.path = FlowMatchingPath(**path_options)  # sampling needs no teacher
    fast.reflow_cost = {
        "train_seconds": time.perf_counter() - start,
        "teacher_seconds": coupling.seconds,
        "pairs": coupling.pairs,
    }
    return fast


def check_posterior_teacher(posterior: Posterior, max_epochs: int, caller: str):
    """The posterior's model, refused (naming ``caller``) when it cannot teach a student."""
    teacher = posterior.model
    if posterior.config is None or posterior.simulations is None:
        raise DataError(
            f"{caller}(posterior): this posterior has no run config or training simulations (a "
            "loaded one); distil the posterior PosteriorEstimator.fit returned."
        )
    if not isinstance(teacher.path, FlowMatchingPath):
        raise ConfigError(
            f"{caller}(posterior): the posterior's path is {type(teacher.path).__name__}; it "
            "needs a flow-matching posterior (PosteriorEstimator(path='flow_matching'))."
        )
    if max_epochs < 1:
        raise ConfigError(f"max_epochs={max_epochs} must be at least 1.")
    return teacher


def train_student(
    posterior: Posterior, parts: dict, max_epochs: int, output_dir, progress: bool
) -> Posterior:
    """Fit the student ``parts`` (network, path, sampler) on the posterior's simulations
    through its run config (``max_epochs``, no dropped conditions or guidance), in
    ``output_dir`` or a temporary folder; the student as a posterior on the teacher's device."""
    teacher = posterior.model
    folder = Path(output_dir or tempfile.mkdtemp(prefix="flowdiff-student-"))
    cfg = _student_config(posterior, max_epochs, progress, folder)
    cfg.model.sampler = describe(parts["sampler"])  # the config says how the student samples
    device = teacher.device  # training may move the teacher (to a GPU): put it back after
    theta, x = posterior.simulations
    try:
        datamodule = instantiate(cfg.data, x=theta, cond=x)
        student, trainer = fit_config(cfg, datamodule, **parts)
    finally:
        if output_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
        teacher.to(device)
    fast = Posterior(student.to(device).eval(), posterior.prior, cfg, posterior.simulations)
    fast.global_step, fast.epoch = trainer.global_step, trainer.current_epoch
    return fast


def _student_config(posterior: Posterior, max_epochs: int, progress: bool, folder: Path):
    """The teacher's run config for the student: no dropped conditions or guidance (the pairs
    carry the teacher's), ``max_epochs``, the run folder ``folder``."""
    cfg = copy.deepcopy(posterior.config)
    if "hydra" in cfg:
        OmegaConf.set_readonly(cfg.hydra, False)  # HydraConfig().set_config froze it
    with open_dict(cfg):
        cfg.max_epochs = max_epochs
        cfg.model.cond_drop_prob = 0.0
        cfg.model.guidance_scale = 1.0
        cfg.model.aux_loss_weight = 0.0
        cfg.data.file = None
        cfg.ckpt_path = None
        if not progress:
            cfg.callbacks.progress_bar = None
        cfg.hydra.runtime.output_dir = str(folder)
    HydraConfig().set_config(cfg)
    return cfg
