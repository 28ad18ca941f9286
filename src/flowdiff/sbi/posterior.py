"""A trained posterior ``q(theta | x)``: draw from it, evaluate its density, save it."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor

from flowdiff.checkpoints.atomic_io import atomic_torch_save
from flowdiff.errors import DataError
from flowdiff.inference.sampler_choice import build_sampler
from flowdiff.metrics.likelihood import log_likelihood
from flowdiff.model.module import GenerativeModule
from flowdiff.sbi.inputs import as_float_tensor, check_prior, observation_batch
from flowdiff.sbi.prior import inside_support, rejection_sample

log = logging.getLogger(__name__)

#: Rows drawn through the network in one call (all observations together).
SAMPLE_BATCH = 100_000


class Posterior:
    """``q(theta | x)`` from a trained conditional :class:`GenerativeModule`.

    Args:
        model: the trained module; ``theta`` is its data, ``x`` its (float) condition.
        prior: optional prior with ``sample`` and ``log_prob``: draws outside its support are
            rejected (see :mod:`flowdiff.sbi.prior`) and get ``log_prob = -inf``.
        config: the training config, written beside the checkpoint by :meth:`save`.
        simulations: the ``(theta, x)`` the model was trained on, written by :meth:`save` so
            that ``flowdiff-eval`` can rebuild the held-out split.
    """

    def __init__(
        self,
        model: GenerativeModule,
        prior=None,
        config: DictConfig | None = None,
        simulations: tuple[Tensor, Tensor] | None = None,
    ):
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
        #: ``(B,)`` share of draws inside the prior's support at the last :meth:`sample` call.
        self.acceptance_rate: Tensor | None = None

    def __repr__(self) -> str:
        return (
            f"Posterior(theta_shape={list(self.theta_shape)}, x_shape={list(self.x_shape)}, "
            f"network={type(self.model.network).__name__}, prior={type(self.prior).__name__})"
        )

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        sample_shape: Sequence[int] = (1,),
        x: Tensor | None = None,
        generator: torch.Generator | None = None,
        steps: int | None = None,
        min_acceptance: float = 1e-3,
    ) -> Tensor:
        """Draw ``theta ~ q(theta | x)``.

        Args:
            sample_shape: e.g. ``(n,)``; the draws per observation.
            x: one observation ``x_shape`` or a batch ``(B, *x_shape)``.
            generator: seeds the draws (on the model's device, or the CPU).
            steps: solver steps instead of the trained sampler's (fewer: faster, coarser).
            min_acceptance: with a prior, sampling stops with an error when fewer than this
                share of draws fall inside its support.

        Returns:
            ``(*sample_shape, *theta_shape)`` for one observation, ``(*sample_shape, B,
            *theta_shape)`` for a batch; on the CPU.
        """
        if x is None:
            raise DataError("x=... is required: give the observation(s) to condition on.")
        x_o, single = observation_batch(as_float_tensor(x, "x"), self.x_shape)
        sample_shape = tuple(torch.Size(sample_shape))
        n = math.prod(sample_shape)
        sampler = self._sampler(steps)

        def draw(m: int, index: Tensor) -> Tensor:
            return self._draw(m, x_o[index], sampler, generator)

        if self.prior is None:
            drawn = draw(n, torch.arange(len(x_o)))
        else:
            accept = lambda theta: inside_support(self.prior, theta)  # noqa: E731
            rejection = rejection_sample(draw, accept, n, len(x_o), min_acceptance)
            drawn, self.acceptance_rate = rejection.samples, rejection.acceptance
            log.info("posterior.sample: acceptance rate %s", _rates(self.acceptance_rate))
        drawn = drawn.reshape(*sample_shape, len(x_o), *self.theta_shape)
        return drawn.squeeze(len(sample_shape)) if single else drawn

    def _sampler(self, steps: int | None):
        if steps is None:
            return self.model.sampler
        return build_sampler(self.model.sampler, {}, steps)

    @torch.no_grad()
    def _draw(self, m: int, x_o: Tensor, sampler, generator) -> Tensor:
        """``(m, B, *theta_shape)``: ``m`` draws for each of ``B`` observations, all
        observations through the network together, :data:`SAMPLE_BATCH` rows at a time."""
        per_call = max(1, SAMPLE_BATCH // len(x_o))
        parts = []
        for start in range(0, m, per_call):
            count = min(per_call, m - start)
            cond = x_o.unsqueeze(0).expand(count, *x_o.shape).reshape(-1, *self.x_shape)
            out = self.model.sample(cond=cond, sampler=sampler, generator=generator)
            parts.append(out.reshape(count, len(x_o), *self.theta_shape).cpu())
        return torch.cat(parts)

    # ------------------------------------------------------------------ density
    def log_prob(self, theta: Tensor, x: Tensor | None = None, **options: Any) -> Tensor:
        """``log q(theta | x)`` in nats, by the flow's ODE likelihood.

        Args:
            theta: ``theta_shape`` or ``(N, *theta_shape)``.
            x: one observation (shared by every theta) or ``(N, *x_shape)``, one per theta.
            **options: keyword arguments of :func:`flowdiff.metrics.likelihood.log_likelihood`
                (``method``, ``steps``, ``atol``, ``rtol``, ``exact``, ``batch_size``).

        Returns:
            ``(N,)`` (or a scalar for one theta), ``-inf`` outside the prior's support. Not
            renormalised for the mass the flow puts outside the prior.
        """
        if x is None:
            raise DataError("x=... is required: give the observation(s) to condition on.")
        theta = as_float_tensor(theta, "theta")
        single_theta = tuple(theta.shape) == self.theta_shape
        if single_theta:
            theta = theta.unsqueeze(0)
        if tuple(theta.shape[1:]) != self.theta_shape:
            raise DataError(
                f"theta has shape {list(theta.shape)}, but the posterior is over parameters of "
                f"shape {list(self.theta_shape)}: give {list(self.theta_shape)} or "
                f"[N, {', '.join(map(str, self.theta_shape))}]."
            )
        x_o, single_x = observation_batch(as_float_tensor(x, "x"), self.x_shape)
        theta, x_o = self._pair(theta, x_o, single_x)
        log_q = log_likelihood(self.model, theta, x_o, **options).cpu()
        if self.prior is not None:
            log_q = torch.where(inside_support(self.prior, theta), log_q, -torch.inf)
        return log_q[0] if single_theta and single_x else log_q

    @staticmethod
    def _pair(theta: Tensor, x_o: Tensor, single_x: bool) -> tuple[Tensor, Tensor]:
        if single_x or len(x_o) == 1:
            return theta, x_o.expand(len(theta), *x_o.shape[1:])
        if len(theta) == 1:
            return theta.expand(len(x_o), *theta.shape[1:]), x_o
        if len(theta) != len(x_o):
            raise DataError(
                f"theta has {len(theta)} rows but x has {len(x_o)}; give one x, or one per theta."
            )
        return theta, x_o

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the posterior as a flowdiff checkpoint at ``path`` (``.ckpt``).

        ``flowdiff-sample ckpt_path=<path>`` reads it as it stands. When the training
        simulations are known, ``<folder>/<name>.simulations.npz`` and the run config
        ``<folder>/.hydra/config.yaml`` are written too, so that ``flowdiff-eval`` rebuilds the
        same held-out split (one posterior per folder for that). The prior is not stored:
        pass it again to :meth:`PosteriorEstimator.load`.
        """
        path = Path(path)
        checkpoint = {
            "state_dict": self.model.state_dict(),
            "hyper_parameters": dict(self.model.hparams),
            "pytorch-lightning_version": lightning.__version__,
            "global_step": int(getattr(self, "global_step", 0)),
            "epoch": int(getattr(self, "epoch", 0)),
        }
        self.model.on_save_checkpoint(checkpoint)
        atomic_torch_save(checkpoint, path)
        if self.config is not None and self.simulations is not None:
            self._save_run(path)
        return path

    def _save_run(self, path: Path) -> None:
        data_file = path.parent / f"{path.stem}.simulations.npz"
        theta, x = self.simulations
        np.savez(data_file, x=theta.numpy(), cond=x.numpy())
        config = self.config.copy()
        with open_dict(config):
            config.pop("hydra", None)
            config.data.file = str(data_file.resolve())
        (path.parent / ".hydra").mkdir(exist_ok=True)
        (path.parent / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(config))


def _rates(rates: Tensor) -> str:
    return ", ".join(f"{float(rate):.3f}" for rate in rates[:10]) + (
        " ..." if len(rates) > 10 else ""
    )
