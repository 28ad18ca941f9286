"""A trained posterior ``q(theta | x)`` in sbi's posterior protocol: ``sample``,
``sample_batched``, ``log_prob``, ``log_prob_batched``, ``map``, ``set_default_x``, ``to``; and
one-file ``save`` / ``load`` (:mod:`flowdiff.sbi.files`); ``reflow`` and ``mean_flow`` for
one-step students.

A little over the house's ~250 lines: one short method per entry of sbi's protocol, each
delegating its work (to :mod:`flowdiff.sbi.draws`, :mod:`flowdiff.sbi.files`,
:mod:`flowdiff.distillation`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor

from flowdiff.errors import ConfigError, DataError
from flowdiff.metrics.likelihood import check_likelihood_options, log_likelihood
from flowdiff.model.devices import check_device
from flowdiff.model.module import GenerativeModule
from flowdiff.sbi import files
from flowdiff.sbi.calibration_checks import check_count
from flowdiff.sbi.draws import (
    check_density,
    check_drawn,
    check_steps,
    draw_batched,
    rows_per_call,
    sample_size,
    with_steps,
)
from flowdiff.sbi.inputs import (
    as_float_tensor,
    check_finite,
    check_prior,
    observation_batch,
    pair_rows,
)
from flowdiff.sbi.prior import inside_support


class Posterior:
    """``q(theta | x)`` from a trained conditional :class:`GenerativeModule`.

    Args:
        model: the trained module; ``theta`` is its data, ``x`` its (float) condition.
        prior: optional prior with ``sample`` and ``log_prob``: draws outside its support are
            rejected (see :mod:`flowdiff.sbi.prior`) and get ``log_prob = -inf``.
        config: the training config (stored in the saved file).
        simulations: the ``(theta, x)`` the model was trained on (for :meth:`write_run`).
    """

    def __init__(
        self,
        model: GenerativeModule,
        prior=None,
        config: DictConfig | None = None,
        simulations: tuple[Tensor, Tensor] | None = None,
    ):
        if not isinstance(model, GenerativeModule):
            raise DataError(
                f"model must be a trained GenerativeModule, not a {type(model).__name__}; load "
                "a saved posterior with Posterior.load(path)."
            )
        network_cond = getattr(model.network, "hparams", {}).get("cond_shape")
        cond_shape = model.hparams.get("cond_shape") or network_cond
        if not cond_shape:
            raise DataError(
                "The model takes no float condition (cond_shape); a posterior needs a model "
                "trained on observations x as its condition."
            )
        self.model = model.eval()
        self.theta_shape = tuple(model.data_shape)
        self.x_shape = tuple(cond_shape)
        check_prior(prior, self.theta_shape)
        self.prior = prior
        self.config = config
        self.simulations = simulations
        self.default_x: Tensor | None = None
        self.global_step, self.epoch = 0, 0
        #: ``(B,)`` share of draws inside the prior's support at the last :meth:`sample` call.
        self.acceptance_rate: Tensor | None = None

    def __repr__(self) -> str:
        shapes = f"theta_shape={list(self.theta_shape)}, x_shape={list(self.x_shape)}"
        return f"Posterior({shapes}, prior={type(self.prior).__name__})"

    # ------------------------------------------------------------------ sbi's conveniences
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> Posterior:
        """Move the network (and draws, densities) to ``device``; returns the posterior."""
        check_device(device)
        self.model.to(device)
        if self.default_x is not None:
            self.default_x = self.default_x.to(device)
        return self

    def set_default_x(self, x) -> Posterior:
        """Condition on ``x`` whenever ``x`` is omitted; returns the posterior (as sbi)."""
        x_o, single = self._observations(x, "x")
        self.default_x = x_o[0] if single else x_o
        return self

    def _observations(self, x, name: str = "x") -> tuple[Tensor, bool]:
        if x is None:
            if self.default_x is None:
                raise DataError(
                    f"{name}=... is required: give the observation(s) to condition on, or call "
                    "posterior.set_default_x(x_o) first."
                )
            x = self.default_x
        x_o, single = observation_batch(as_float_tensor(x, name), self.x_shape)
        check_finite(x_o, name)
        return x_o.to(self.device), single

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        sample_shape=(1,),
        x=None,
        generator: torch.Generator | None = None,
        steps: int | None = None,
        min_acceptance: float = 1e-3,
        reject_outside_prior: bool = True,
        max_sampling_batch_size: int | None = None,
        show_progress_bars: bool = False,
    ) -> Tensor:
        """Draw ``theta ~ q(theta | x)``.

        Args:
            sample_shape: e.g. ``(n,)`` (or ``n``); the draws per observation; 0 gives an empty
                tensor.
            x: one observation, ``x_shape`` or ``(1, *x_shape)`` as sbi takes it, or a batch
                ``(B, *x_shape)``; omitted: the default set by :meth:`set_default_x`.
            generator: seeds the draws (on the model's device, or the CPU).
            steps: solver steps instead of the trained sampler's (fewer: faster, coarser).
            min_acceptance: with a prior, sampling stops with an error when fewer than this
                share of draws fall inside its support.
            reject_outside_prior: redraw draws outside the prior's support (sbi's name).
            max_sampling_batch_size: rows through the network in one call; ``None``: 8,192
                on the CPU (cache-sized, the fastest there), 100,000 on an accelerator.
            show_progress_bars: accepted for sbi's callers; no bar is shown.

        Returns:
            ``(*sample_shape, *theta_shape)`` for one observation (as sbi), ``(*sample_shape, B,
            *theta_shape)`` for a batch of ``B > 1`` (sbi asks for :meth:`sample_batched`
            there); on the posterior's device.
        """
        x_o, _ = self._observations(x)
        drawn = self._sample(sample_shape, x_o, generator, steps, min_acceptance,
                             reject_outside_prior, max_sampling_batch_size)  # fmt: skip
        # As sbi: one observation, given alone or as a batch of one, gives (*sample_shape, *theta).
        one = len(x_o) == 1
        return drawn.squeeze(drawn.dim() - len(self.theta_shape) - 1) if one else drawn

    def sample_batched(
        self,
        sample_shape,
        x,
        generator: torch.Generator | None = None,
        steps: int | None = None,
        min_acceptance: float = 1e-3,
        reject_outside_prior: bool = True,
        max_sampling_batch_size: int | None = None,
        show_progress_bars: bool = False,
    ) -> Tensor:
        """``(*sample_shape, B, *theta_shape)`` draws for a batch ``x`` ``(B, *x_shape)``, as
        sbi's ``sample_batched``; the batch axis is kept for ``B = 1`` too (options as
        :meth:`sample`)."""
        x_o, _ = self._observations(x)
        return self._sample(sample_shape, x_o, generator, steps, min_acceptance,
                            reject_outside_prior, max_sampling_batch_size)  # fmt: skip

    def _sample(self, sample_shape, x_o, generator, steps, min_acceptance, reject, batch):
        shape, n = sample_size(sample_shape)
        check_steps(steps)
        if not isinstance(reject, bool):  # "no" would count as True
            raise ConfigError(f"reject_outside_prior={reject!r} must be True or False.")
        batch = rows_per_call(batch, self.device)
        if n == 0:
            return torch.empty(*shape, len(x_o), *self.theta_shape, device=self.device)
        sampler = with_steps(self.model.sampler, steps)
        prior = self.prior if reject else None
        drawn, self.acceptance_rate = draw_batched(
            self.model, sampler, x_o, n, generator, prior, min_acceptance, batch
        )
        check_drawn(drawn)
        return drawn.reshape(*shape, len(x_o), *self.theta_shape)

    def map(
        self, x=None, num_init_samples: int = 1_000, steps: int = 16, **sbi_options: Any
    ) -> Tensor:
        """The most probable of ``num_init_samples`` posterior draws under :meth:`log_prob`
        (rk4 with ``steps`` steps): ``(1, *theta_shape)``. sbi's gradient-ascent options
        (``num_iter``, ``learning_rate``...) are accepted and not used."""
        x_o, _ = self._observations(x)
        if len(x_o) != 1:
            raise DataError(f"map() takes one observation; x holds {len(x_o)}.")
        check_count(num_init_samples, "num_init_samples")
        check_likelihood_options(method="rk4", steps=steps)
        draws = self.sample((num_init_samples,), x=x_o[0])
        log_q = self.log_prob(draws, x=x_o[0], method="rk4", steps=steps)
        return draws[int(torch.argmax(log_q))].unsqueeze(0)

    # ------------------------------------------------------------------ density
    def log_prob(self, theta, x=None, norm_posterior: bool = False, **options: Any) -> Tensor:
        """``log q(theta | x)`` in nats, by the flow's ODE likelihood.

        Args:
            theta: ``theta_shape`` or ``(N, *theta_shape)``; NaN/inf rows are refused.
            x: one observation (shared by every theta) or ``(N, *x_shape)``, one per theta;
                omitted: the default set by :meth:`set_default_x`.
            norm_posterior: sbi's option; the density is not renormalised for the mass the
                flow puts outside the prior.
            **options: keyword arguments of :func:`flowdiff.metrics.likelihood.log_likelihood`
                (``method``, ``steps``, ``atol``, ``rtol``, ``exact``, ``batch_size``);
                ``track_gradients`` is accepted for sbi's callers.

        Returns:
            ``(N,)`` (or a scalar for one theta), ``-inf`` outside the prior's support.
        """
        options.pop("track_gradients", None)
        check_likelihood_options(**options)
        check_density(self.model)
        theta = as_float_tensor(theta, "theta").to(self.device)
        single_theta = tuple(theta.shape) == self.theta_shape
        theta = theta.unsqueeze(0) if single_theta else theta
        if tuple(theta.shape[1:]) != self.theta_shape:
            raise DataError(
                f"theta has shape {list(theta.shape)}, but the posterior is over parameters of "
                f"shape {list(self.theta_shape)}: give {list(self.theta_shape)} or "
                f"[N, {', '.join(map(str, self.theta_shape))}]."
            )
        check_finite(theta, "theta")
        x_o, single_x = self._observations(x)
        theta, x_o = pair_rows(theta, x_o, single_x)
        if len(theta) == 0:
            return torch.empty(0, device=self.device)
        log_q = log_likelihood(self.model, theta, x_o, **options).to(self.device)
        if torch.isnan(log_q).any():
            check_drawn(log_q, "log_prob")
        if self.prior is not None:
            inside = inside_support(self.prior, theta).to(self.device)
            log_q = torch.where(inside, log_q, -torch.inf)
        return log_q[0] if single_theta and single_x else log_q

    def log_prob_batched(self, theta, x, **options: Any) -> Tensor:
        """sbi's ``log_prob_batched``: ``theta`` ``(*S, B, *theta_shape)`` under the posterior
        of each of ``B`` observations ``x`` ``(B, *x_shape)``; returns ``(*S, B)``."""
        x_o, _ = self._observations(x)
        theta = as_float_tensor(theta, "theta")
        lead = theta.shape[: theta.dim() - len(self.theta_shape)]
        if not lead or lead[-1] != len(x_o):
            raise DataError(
                f"theta has shape {list(theta.shape)}; log_prob_batched takes (*sample_shape, "
                f"{len(x_o)}, {', '.join(map(str, self.theta_shape))}) for {len(x_o)} observations."
            )
        rows = theta.reshape(-1, *self.theta_shape)
        x_rows = x_o.repeat(math.prod(lead[:-1]), *[1] * len(self.x_shape))
        return self.log_prob(rows, x=x_rows, **options).reshape(lead)

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the posterior as ONE file: weights, config and, when it can be stored as
        plain tensors, the prior (see :func:`flowdiff.sbi.files.save_posterior`). The file is
        also a flowdiff checkpoint that ``flowdiff-sample ckpt_path=<path>`` reads."""
        return files.save_posterior(self, path)

    @classmethod
    def load(cls, path: str | Path, prior=None, device: str = "cpu", embedding_net=None):
        """A posterior from :meth:`save` (or any conditional flowdiff checkpoint, including
        posteriors saved before one-file saving); ``prior`` replaces a stored one,
        ``embedding_net`` rebuilds an embedding net the file could not describe."""
        return files.load_posterior(cls, path, prior, device, embedding_net)

    def write_run(self, folder: str | Path) -> Path:
        """A run folder ``flowdiff-eval`` reads (``checkpoints/posterior.ckpt``, ``.hydra/``
        and the training simulations), for evaluations that need the training split."""
        return files.write_run(self, folder)

    # ------------------------------------------------------------------ few-step
    def reflow(self, steps: int = 1, max_epochs: int = 200, **options: Any) -> Posterior:
        """A student of this posterior that draws in ``steps`` network calls, trained on this
        posterior's own draws (reflow); ``options`` and the cost in
        :func:`flowdiff.distillation.reflow_posterior` and docs/few_step.md."""
        from flowdiff.distillation import reflow_posterior  # it imports this module

        return reflow_posterior(self, steps=steps, max_epochs=max_epochs, **options)

    def mean_flow(self, steps: int = 1, max_epochs: int = 200, **options: Any) -> Posterior:
        """A student of this posterior that draws in ``steps`` jumps of a learned average
        velocity (MeanFlow distillation); options in
        :func:`flowdiff.distillation.mean_flow_posterior` and docs/few_step.md."""
        from flowdiff.distillation import mean_flow_posterior  # it imports this module

        return mean_flow_posterior(self, steps=steps, max_epochs=max_epochs, **options)
