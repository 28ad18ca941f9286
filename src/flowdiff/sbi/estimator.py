"""``PosteriorEstimator``: fit ``q(theta | x)`` to simulations held in memory.

The estimator composes the same Hydra config as ``flowdiff-train data=arrays`` (so its defaults
are that route's defaults: early stopping on the validation split with the best weights restored,
a plateau learning-rate schedule), switches off what a notebook user does not want by default
(figures, TensorBoard, run records), and trains through :func:`flowdiff.training.fit`: the
same ``GenerativeModule``, callbacks and Lightning ``Trainer`` as the command line.
:attr:`PosteriorEstimator.overrides` are the overrides that give the same model with
``flowdiff-train data=arrays data.file=...``.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor, nn

from flowdiff.checkpoints.loading import load_model, train_config
from flowdiff.config import compose_config
from flowdiff.errors import ConfigError, DataError
from flowdiff.paths.base import ProbabilityPath
from flowdiff.sbi.inputs import as_float_tensor, check_prior, check_simulations, handle_nonfinite
from flowdiff.sbi.posterior import Posterior
from flowdiff.training import fit as fit_config

#: The top-level config the estimator composes (flow matching, as ``flowdiff-train``'s default).
CONFIG_NAME = "train"
#: Where an option named ``name`` is looked up, in this order: ``<prefix><name>``.
OPTION_PREFIXES = (
    "",
    "model.network.",
    "model.",
    "data.",
    "trainer.",
    "callbacks.early_stopping.",
    "model.sampler.",
    "model.path.",
)


def hydra_value(value: Any) -> str:
    """A Python value written as a Hydra override value (``None`` -> ``null``, lists...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    return str(value)


def wall_time(seconds: float) -> str:
    """Seconds as the ``DD:HH:MM:SS`` that ``max_time`` takes (rounded up to whole seconds)."""
    if seconds <= 0:
        raise ConfigError(f"max_time={seconds} must be a positive number of seconds.")
    minutes, secs = divmod(math.ceil(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days:02d}:{hours:02d}:{minutes:02d}:{secs:02d}"


def lean_overrides(figures: bool, tensorboard: bool, progress: bool) -> list[str]:
    """This use's defaults on top of ``data=arrays`` (which stops early on the validation loss
    and restores the best weights): one best checkpoint, quiet early stopping, and no figures,
    logger or run records unless asked."""
    overrides = [
        "callbacks.early_stopping.verbose=false",
        "callbacks.model_checkpoint.save_top_k=1",
        "+trainer.enable_model_summary=false",
    ]
    if not figures:
        overrides += ["callbacks.sample_figures=null", "callbacks.run_records=null"]
    if not tensorboard:
        overrides += ["~logger", "callbacks.lr_monitor=null"]
    if not progress:
        overrides += ["callbacks.progress_bar=null"]
    return overrides


class PosteriorEstimator:
    """Neural posterior estimation by conditional flow matching, from tensors in memory.

        posterior = PosteriorEstimator().fit(theta, x)
        samples = posterior.sample((10_000,), x=x_o)
        log_q = posterior.log_prob(samples[:100], x=x_o)

    Args:
        network: a network config name of ``configs/model/network/`` (``"mlp_small"``, the
            ``data=arrays`` default: a 128 x 3 residual MLP; ``"mlp"``, ``"tokens"``)
            or a module with ``forward(theta_t, t, cond)`` (one that records its constructor
            arguments, like flowdiff's networks, to be saved and reloaded).
        path: a model config of ``configs/model/`` (``"flow_matching"``, ``"diffusion"``) or a
            :class:`~flowdiff.paths.ProbabilityPath` object; ``log_prob`` needs flow matching.
        prior: optional prior (``sample``/``log_prob``): posterior draws outside its support
            are rejected.
        output_dir: the run folder (checkpoints, and logs when asked); ``None`` trains in a
            temporary folder removed after :meth:`fit`.
        figures: also the validation sample figures and run records (``loss_curve.png``...).
        tensorboard: also TensorBoard logs.
        progress: show the progress bar.
        overrides: more Hydra overrides, e.g. ``["trainer.precision=bf16-mixed"]``.
        **options: config values by name, looked up at the top level (``batch_size``,
            ``max_epochs``, ``base_lr``, ``seed``, ``sampling_steps``), then in the network
            (``hidden``, ``depth``, ``dropout``), the model, the data (``val_fraction``), the
            trainer (``accelerator``, ``max_steps``), early stopping (``patience``), sampler
            and path.
    """

    def __init__(
        self,
        network: str | nn.Module = "mlp_small",
        path: str | ProbabilityPath = "flow_matching",
        prior=None,
        output_dir: str | Path | None = None,
        figures: bool = False,
        tensorboard: bool = False,
        progress: bool = True,
        overrides: list[str] | tuple[str, ...] = (),
        **options: Any,
    ):
        self.network = network
        self.path = path
        self.prior = prior
        self.output_dir = output_dir
        self.lean = lean_overrides(figures, tensorboard, progress)
        self.extra = list(overrides)
        self.options = options
        self.overrides: list[str] = []  # set by fit(): all overrides of the run
        self.seconds: float | None = None  # wall time of the last fit
        self.posterior: Posterior | None = None  # the last fit's posterior

    def config_overrides(self, theta_shape, x_shape) -> list[str]:
        """All Hydra overrides of a run on simulations of these shapes (``data.file`` aside)."""
        overrides = [
            "data=arrays",
            f"data.shape={hydra_value(list(theta_shape))}",
            f"data.cond_shape={hydra_value(list(x_shape))}",
        ]
        if isinstance(self.path, str):
            overrides.append(f"model={self.path}")
        if isinstance(self.network, str):
            overrides.append(f"model/network={self.network}")
        overrides += self.lean
        base = compose_config(CONFIG_NAME, [*overrides, *self.extra])
        overrides += [f"{key}={hydra_value(v)}" for key, v in self._option_keys(base).items()]
        return overrides + self.extra

    def _option_keys(self, cfg: DictConfig) -> dict[str, Any]:
        keys = {}
        for name, value in self.options.items():
            found = [prefix + name for prefix in OPTION_PREFIXES if _has_key(cfg, prefix + name)]
            if not found:
                raise ConfigError(
                    f"PosteriorEstimator option {name}={value!r} is not a setting of this run; "
                    "use a config key such as batch_size, max_epochs, base_lr, hidden, depth, "
                    "patience, val_fraction, or pass overrides=['<key>=<value>']."
                )
            keys[found[0]] = value
        return keys

    def fit(self, theta, x, max_time: float | None = None, nonfinite: str = "refuse") -> Posterior:
        """Train ``q(theta | x)`` on simulations and return the posterior.

        Args:
            theta: parameters ``(N, *theta_shape)`` (tensor or array).
            x: their simulated observations ``(N, *x_shape)``.
            max_time: stop training after this many seconds (besides early stopping).
            nonfinite: simulations with NaN/inf: ``refuse`` (an error with counts) or
                ``drop`` (removed, with a warning).

        Returns:
            The :class:`Posterior`, with the best weights on the validation split.
        """
        theta, x = as_float_tensor(theta, "theta"), as_float_tensor(x, "x")
        check_simulations(theta, x)
        theta, x = handle_nonfinite(theta, x, nonfinite)
        check_prior(self.prior, theta.shape[1:])
        self.overrides = self.config_overrides(theta.shape[1:], x.shape[1:])
        if max_time is not None:
            self.overrides.append(f"max_time={wall_time(max_time)}")
        folder = Path(self.output_dir or tempfile.mkdtemp(prefix="flowdiff-posterior-"))
        cfg = compose_config(CONFIG_NAME, self.overrides, output_dir=folder)
        with open_dict(cfg):
            cfg.data.file = None  # the simulations are in memory
        start = time.perf_counter()
        try:
            datamodule = instantiate(cfg.data, x=theta, cond=x)
            model, trainer = fit_config(cfg, datamodule, **self._parts())
        finally:
            if self.output_dir is None:
                shutil.rmtree(folder, ignore_errors=True)
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

    def _parts(self) -> dict[str, Any]:
        """The network and path given as objects rather than config names."""
        parts = {"network": self.network, "path": self.path}
        return {key: part for key, part in parts.items() if not isinstance(part, str)}

    @staticmethod
    def load(path: str | Path, prior=None, device: str = "cpu") -> Posterior:
        """A posterior saved by :meth:`Posterior.save` (or any conditional flowdiff
        checkpoint, e.g. ``outputs/<run>/checkpoints/last.ckpt`` of ``data=arrays``)."""
        model = load_model(path, device).model
        try:
            config = train_config(path)
        except FileNotFoundError:
            config = None
        return Posterior(model, prior, config)


def _has_key(cfg: DictConfig, key: str) -> bool:
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return isinstance(node, DictConfig) and leaf in node
