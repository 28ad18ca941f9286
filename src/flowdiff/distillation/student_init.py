"""Start a student from its teacher's weights: the reflow student is the teacher, fine-tuned on
the teacher's own (noise, sample) pairs."""

from __future__ import annotations

import torch
from lightning import Callback, LightningModule, Trainer

from flowdiff.distillation.teacher_coupling import require_teacher
from flowdiff.errors import ConfigError
from flowdiff.model.loading import load_model


class StudentFromTeacher(Callback):
    """Copies the teacher's network weights (its EMA ones) into the module before fitting.

    It acts in ``setup``, before Lightning restores a ``ckpt_path``, so resuming a student run
    continues from the student's own weights. When fitting starts it checks that the student's
    data normalisation is the teacher's: the pairs are drawn in the teacher's units.

    Args:
        checkpoint: the teacher's ``.ckpt``.
    """

    def __init__(self, checkpoint: str | None):
        require_teacher(checkpoint)
        self.checkpoint = checkpoint
        self.teacher_normalizer: dict[str, torch.Tensor] | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        teacher = load_model(self.checkpoint).model
        try:
            pl_module.network.load_state_dict(teacher.network.state_dict())
        except RuntimeError as error:
            raise ConfigError(
                f"teacher_ckpt={self.checkpoint!r}: its network ({type(teacher.network).__name__})"
                f" does not fit the student's ({type(pl_module.network).__name__}): "
                f"{str(error).splitlines()[0]} Train the student with the teacher's network "
                "config (the same model/network and its sizes)."
            ) from error
        self.teacher_normalizer = _statistics(teacher)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.teacher_normalizer is None:
            return
        student = _statistics(pl_module)
        for key, value in self.teacher_normalizer.items():
            if key in student and not torch.allclose(student[key].cpu(), value.cpu(), rtol=1e-4):
                raise ConfigError(
                    f"teacher_ckpt={self.checkpoint!r}: the student's data are normalised "
                    f"differently from the teacher's ({key} differs), so the teacher's pairs "
                    "would be in other units; train the student on the teacher's data config "
                    "(the same data=..., data.file and split)."
                )


def _statistics(module: LightningModule) -> dict[str, torch.Tensor]:
    """The data's and the float conditions' normalisation buffers of ``module``."""
    found = {f"normalizer.{k}": v for k, v in module.normalizer.state_dict().items()}
    if module.cond_normalizer is not None:
        state = module.cond_normalizer.state_dict()
        found.update({f"cond_normalizer.{k}": v for k, v in state.items()})
    return found
