"""``PosteriorEstimator``: fit ``q(theta | x)`` to simulations held in memory.

The estimator composes the same config as ``flowdiff-train data=arrays`` once (so its defaults
are that route's: early stopping on the validation split with the best weights restored, a
plateau learning-rate schedule), sets the named settings on it as Python values
(:mod:`flowdiff.sbi.settings`), and trains through :func:`flowdiff.training.fit`: the same
``GenerativeModule``, callbacks and Lightning ``Trainer`` as the command line.
:attr:`PosteriorEstimator.overrides` are the command-line overrides of the same model.

About 260 lines, over the house's ~250: one class whose constructor documents every argument.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from torch import Tensor, nn

from flowdiff.config import compose_config
from flowdiff.errors import ConfigError, DataError, warn_renamed
from flowdiff.paths.base import ProbabilityPath
from flowdiff.sbi import fitting
from flowdiff.sbi.fitting import check_split, check_trained, lean_overrides, override_text
from flowdiff.sbi.inputs import (
    as_float_tensor,
    check_prior,
    check_prior_support,
    check_simulations,
    handle_nonfinite,
)
from flowdiff.sbi.network_parts import network_parts
from flowdiff.sbi.posterior import Posterior
from flowdiff.sbi.settings import (
    SETTINGS,
    apply_settings,
    check_part,
    check_setting,
    renamed_settings,
    unset_budget_settings,
    unset_path_settings,
    wall_time,
)
from flowdiff.training import fit as fit_config

#: The top-level config the estimator composes (flow matching, as ``flowdiff-train``'s default).
CONFIG_NAME = "train"


class PosteriorEstimator:
    """Neural posterior estimation by conditional flow matching, from tensors in memory.

        posterior = PosteriorEstimator().fit(theta, x)
        samples = posterior.sample((10_000,), x=x_o)
        log_q = posterior.log_prob(samples[:100], x=x_o)

    Args:
        network: a config name of ``configs/model/network/`` (``"mlp_small"``, the
            ``data=arrays`` default: a 128 x 3 residual MLP with time embedding; ``"mlp"``,
            ``"tokens"``) or a module
            with ``forward(theta_t, t, cond)``.
        path: ``"flow_matching"`` or ``"diffusion"`` (a model config of ``configs/model/``), or a
            :class:`~flowdiff.paths.ProbabilityPath`; ``log_prob`` needs flow matching.
        prior: optional prior (``sample``/``log_prob``): simulations it cannot have produced
            are refused, posterior draws outside its support rejected.
        theta_transform: ``"none"``: the parameters are learned as they are, and draws outside
            the prior's support rejected (as sbi's NPE does); ``"logit"`` (a prior whose support
            is a box: a uniform prior, sbi's ``BoxUniform``): learned through the logit of the
            box (``data.bounds``), so every draw falls inside and none is rejected. Better on
            some sbibm tasks, worse on others (docs/benchmarks.md), so not the default.
        embedding_net: observations go through it to a vector first, trained jointly: any
            ``nn.Module`` ``(B, *x_shape) -> (B, F)`` or a config name of
            ``configs/model/network/embedding/``: ``"mlp"``, ``"cnn1d"`` (time series),
            ``"cnn"`` (images), ``"set"`` (sets of i.i.d. trials ``[n_trials, D]``).
        batch_size, max_epochs, base_lr, seed, patience, val_fraction: training (``patience``:
            validations without improvement before early stopping). ``batch_size`` and
            ``patience`` left out scale with the number of simulations
            (:func:`~flowdiff.sbi.settings.budget_settings`: 32 and 24 at 1,000, 256 and 10 at
            10,000).
        hidden, depth, dropout: the network's size.
        steps: solver steps of the trained sampler (``sampling_steps`` on the command line);
            left out: 8 midpoint steps for flow matching, 16 DPM-Solver++ steps for diffusion.
        accelerator, devices, precision: the Lightning trainer's.
        output_dir: the run folder; ``None`` trains in a temporary folder removed after fit.
        figures, tensorboard, progress: validation figures and run records, TensorBoard logs,
            the progress bar.
        overrides: more Hydra overrides for what has no argument, e.g. ``["trainer=cpu"]``.
    """

    def __init__(
        self,
        network: str | nn.Module = "mlp_small",
        path: str | ProbabilityPath = "flow_matching",
        prior=None,
        embedding_net: str | nn.Module | None = None,
        *,
        theta_transform: str = "none",
        batch_size: int | None = None,
        max_epochs: int | None = None,
        base_lr: float | None = None,
        seed: int | None = None,
        patience: int | None = None,
        val_fraction: float | None = None,
        hidden: int | None = None,
        depth: int | None = None,
        dropout: float | None = None,
        steps: int | None = None,
        accelerator: str | None = None,
        devices: Any = None,
        precision: str | None = None,
        output_dir: str | Path | None = None,
        figures: bool = False,
        tensorboard: bool = False,
        progress: bool = True,
        overrides: list[str] | tuple[str, ...] = (),
        **deprecated: Any,
    ):
        named = dict(locals())
        check_part("network", network, nn.Module)
        check_part("path", path, ProbabilityPath)
        check_part("embedding_net", embedding_net, nn.Module, optional=True)
        fitting.check_theta_transform(theta_transform, prior)
        for flag in ("figures", "tensorboard", "progress"):
            if not isinstance(named[flag], bool):
                raise ConfigError(f"{flag}={named[flag]!r} must be True or False.")
        if isinstance(overrides, str) or not all(isinstance(o, str) for o in overrides):
            raise ConfigError(f"overrides={overrides!r} must be a list of 'key=value' strings.")
        self.settings = {k: named[k] for k in SETTINGS if named[k] is not None}
        self.settings.update(renamed_settings(deprecated, self.settings))
        for name, value in self.settings.items():
            check_setting(name, value)
        self.network, self.path, self.prior = network, path, prior
        self.theta_transform = theta_transform
        self.embedding_net, self.output_dir = embedding_net, fitting.output_path(output_dir)
        self.lean = lean_overrides(figures, tensorboard, progress)
        self.extra = list(overrides)
        self.overrides: list[str] = []  # set by fit(): the command-line overrides of the run
        self.seconds: float | None = None  # wall time of the last fit
        self.posterior: Posterior | None = None  # the last fit's posterior

    def structure(self) -> list[str]:
        """The config groups this run picks (``data=arrays``, the path, the network)."""
        chosen = ["data=arrays"]
        if isinstance(self.path, str):
            chosen.append(f"model={self.path}")
        if isinstance(self.network, str):
            chosen.append(f"model/network={self.network}")
        return chosen + self.lean

    def budget_settings(self, simulations: int, settings: dict[str, Any]) -> dict[str, int]:
        """:func:`~flowdiff.sbi.settings.budget_settings` and a diffusion path's steps, where
        neither the constructor, ``fit`` nor ``overrides`` set them (no patience when early
        stopping was changed by hand)."""
        given = {**self.settings, **settings}
        path_settings = unset_path_settings(self.path, given, self.extra)
        if any(o.lstrip("~").startswith("callbacks.early_stopping") for o in self.extra):
            given["patience"] = None
        return {**unset_budget_settings(simulations, given, self.extra), **path_settings}

    def config(
        self, theta_shape, x_shape, output_dir: str | Path | None = None, settings=None
    ) -> DictConfig:
        """The training config for simulations of these shapes: composed once, then the
        shapes and named settings (``settings`` over the constructor's) set on it."""
        settings = {**self.settings, **(settings or {})}
        try:
            cfg = compose_config(CONFIG_NAME, [*self.structure(), *self.extra], output_dir)
        except Exception as error:  # Hydra's own message names the override
            raise ConfigError(f"PosteriorEstimator: {error}") from error
        with open_dict(cfg):
            cfg.data.shape, cfg.data.cond_shape = list(theta_shape), list(x_shape)
            cfg.data.file = None  # the simulations are in memory
            apply_settings(cfg, settings, "model.network")
        keys = [SETTINGS[k].replace("network.", "model.network.", 1) for k in settings]
        shapes = [f"data.shape={list(theta_shape)}", f"data.cond_shape={list(x_shape)}"]
        values = [override_text(key, cfg) for key in keys]
        self.overrides = [*self.structure(), *shapes, *values, *self.extra]
        return cfg

    def fit(
        self, theta, x, max_time: Any = None, nonfinite: str = "refuse", **settings: Any
    ) -> Posterior:
        """Train ``q(theta | x)`` on simulations and return the posterior.

        Args:
            theta: parameters ``(N, *theta_shape)`` (tensor or array).
            x: their simulated observations ``(N, *x_shape)``.
            max_time: stop training after this long (besides early stopping): seconds, or
                ``"DD:HH:MM:SS"`` as on the command line.
            nonfinite: simulations with NaN/inf: ``refuse`` (an error with counts) or
                ``drop`` (removed, with a warning).
            **settings: the constructor's named settings, for this fit only (``max_epochs``...).

        Returns:
            The :class:`Posterior`, with the best weights on the validation split.

        Raises:
            DataError, ConfigError: bad simulations or settings, before any training.
            NonFiniteError: the validation loss was never finite.
        """
        settings = renamed_settings(settings, {}, known=True)
        for name, value in settings.items():
            check_setting(name, value)
        theta, x = as_float_tensor(theta, "theta"), as_float_tensor(x, "x")
        check_simulations(theta, x)
        theta, x = handle_nonfinite(theta, x, nonfinite)
        check_prior(self.prior, theta.shape[1:])
        check_prior_support(self.prior, theta)
        limit = wall_time(max_time) if max_time is not None else None
        folder = Path(self.output_dir or tempfile.mkdtemp(prefix="flowdiff-posterior-"))
        start = time.perf_counter()
        try:
            settings = {**self.budget_settings(len(theta), settings), **settings}
            cfg = self.config(theta.shape[1:], x.shape[1:], folder, settings)
            check_split(len(theta), cfg.data.val_fraction)
            self.overrides += fitting.apply_bounds(
                cfg, self.prior, self.theta_transform, theta.shape[1:]
            )
            fitting.drop_resume_checkpoint(cfg, self.output_dir)
            if limit is not None:
                cfg.max_time = limit
                self.overrides.append(f"max_time={limit}")
            parts = network_parts(cfg, self.network, self.embedding_net, x.shape[1:])
            if not isinstance(self.path, str):
                parts["path"] = self.path
            datamodule = instantiate(cfg.data, x=theta, cond=x)
            model, trainer = fit_config(cfg, datamodule, **parts)
        finally:
            if self.output_dir is None:
                shutil.rmtree(folder, ignore_errors=True)
        check_trained(trainer)
        self.seconds = time.perf_counter() - start
        posterior = Posterior(model, self.prior, cfg, (theta, x))
        posterior.global_step, posterior.epoch = trainer.global_step, trainer.current_epoch
        self.posterior = posterior
        return posterior

    def _fitted(self, verb: str) -> Posterior:
        if self.posterior is None:
            raise DataError(
                f"PosteriorEstimator.{verb}: the estimator is not fitted yet; call "
                "posterior = estimator.fit(theta, x) first and use the posterior."
            )
        return self.posterior

    def sample(self, sample_shape=(1,), x=None, **options: Any) -> Tensor:
        """:meth:`Posterior.sample` of the last fit's posterior."""
        return self._fitted("sample").sample(sample_shape, x=x, **options)

    def log_prob(self, theta, x=None, **options: Any) -> Tensor:
        """:meth:`Posterior.log_prob` of the last fit's posterior."""
        return self._fitted("log_prob").log_prob(theta, x=x, **options)

    @staticmethod
    def load(path: str | Path, prior=None, device: str = "cpu", **options: Any) -> Posterior:
        """Deprecated alias of :meth:`Posterior.load`."""
        warn_renamed("PosteriorEstimator.load(path)", "Posterior.load(path)")
        return Posterior.load(path, prior=prior, device=device, **options)
