"""Fréchet Inception Distance through torchmetrics, for comparing with image papers.

Optional on two counts: it needs the extra ``flowdiff[fid]`` (torch-fidelity's Inception-v3),
and it **downloads the Inception weights (about 92 MB) on first use** into torch's hub folder
(``$TORCH_HOME/hub/checkpoints``). Everything else in flowdiff works offline, so it is off by
default (``metrics.fid=true`` in ``flowdiff-eval`` turns it on); the default image metrics use a
classifier fitted on the run's own training split (:class:`flowdiff.metrics.FeatureClassifier`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor

from flowdiff.errors import ConfigError

log = logging.getLogger(__name__)

#: The file torch-fidelity's Inception-v3 loads from torch's hub folder (downloaded if absent).
WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"


def weights_path() -> Path:
    """Where the Inception weights are, or will be after their first download."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def _to_unit_rgb(x: Tensor, low: float, high: float) -> Tensor:
    """Images ``(N, C, H, W)`` in data units to 3-channel floats in [0, 1] (grey repeated)."""
    x = ((x.float() - low) / max(high - low, 1e-12)).clamp(0, 1)
    return x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x[:, :3]


class InceptionFID:
    """FID between real and generated images, with torchmetrics' ``FrechetInceptionDistance``.

    Images are rescaled to [0, 1] with the real images' range, grey ones repeated to RGB, and
    resized to 299x299 by the Inception network itself.

    Args:
        feature: the Inception layer: 64, 192, 768 or 2048 (the papers' FID).
        batch_size: images per forward pass.

    Raises:
        ModuleNotFoundError: without the extra ``flowdiff[fid]`` (the CLI names it).
        ConfigError: the weights are not in the hub folder and could not be downloaded.
    """

    def __init__(self, feature: int = 2048, batch_size: int = 64):
        import torch_fidelity  # noqa: F401  (named first: torchmetrics' own message is vaguer)
        from torchmetrics.image.fid import FrechetInceptionDistance

        path = weights_path()
        if not path.is_file():
            log.warning("FID: downloading the Inception weights (~92 MB, first use) to %s", path)
        try:
            self.metric = FrechetInceptionDistance(feature=feature, normalize=True)
        except OSError as error:  # URLError, connection or disk errors
            raise ConfigError(
                f"fid=True needs the Inception weights, downloaded on first use to {path}, and "
                f"the download failed ({error}); run once with a network, or copy {WEIGHTS_FILE} "
                "there, or turn FID off (fid=False; metrics.fid=false in flowdiff-eval)."
            ) from error
        self.batch_size = batch_size

    def __call__(self, real: Tensor, fake: Tensor) -> float:
        """FID of ``fake`` against ``real``, both ``(N, C, H, W)`` in data units."""
        low, high = float(real.min()), float(real.max())
        self.metric.reset()
        for images, is_real in ((real, True), (fake, False)):
            for batch in images.split(self.batch_size):
                self.metric.update(_to_unit_rgb(batch, low, high), real=is_real)
        return float(self.metric.compute())
