"""A reflow student, trained 60 steps on its teacher's pairs, samples better in one
Euler step than the teacher does: its flow is straighter. (This can fail: a coupling that gave
the student the data instead of the teacher's samples would not straighten anything.)"""

from __future__ import annotations

import copy

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from flowdiff.distillation import TeacherCoupling
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import FlowMatchingPath
from flowdiff.samplers import ODESampler


def _four_blobs(n: int) -> torch.Tensor:
    """``(n, 2)``: four tight clusters at (+-2, +-2); their flow from noise is curved."""
    corners = torch.tensor([[2.0, 2.0], [-2.0, 2.0], [2.0, -2.0], [-2.0, -2.0]])
    return corners[torch.randint(0, 4, (n,))] + 0.1 * torch.randn(n, 2)


def _fit(module: GenerativeModule, steps: int) -> None:
    loader = DataLoader(
        TensorDataset(_four_blobs(4096)),
        batch_size=256,
        shuffle=True,
        collate_fn=lambda rows: {"x": torch.stack([r[0] for r in rows])},
    )
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, train_dataloaders=loader)


def _module(network, path) -> GenerativeModule:
    return GenerativeModule(
        network,
        path,
        ODESampler(method="euler", steps=1),
        data_shape=[2],
        optimizer=lambda params: torch.optim.Adam(params, lr=3e-3),
    )


def test_a_reflow_student_samples_in_one_step_closer_to_the_teacher_than_the_teacher():
    torch.manual_seed(0)
    teacher = _module(MLP(data_shape=[2], hidden=64, depth=2), FlowMatchingPath())
    _fit(teacher, 200)
    teacher.eval()
    coupling = TeacherCoupling.from_module(teacher, steps=8)
    student = _module(copy.deepcopy(teacher.network).train(), FlowMatchingPath(coupling=coupling))
    _fit(student, 60)

    x_0 = torch.randn(2000, 2)
    with torch.no_grad():
        _, target = coupling(x_0, x_0)  # the teacher's 8-step midpoint samples
        one_step = ODESampler(method="euler", steps=1)
        teacher_1 = one_step.sample(lambda x, t: teacher.network(x, t), teacher.path, x_0).x
        student_1 = one_step.sample(lambda x, t: student.network(x, t), student.path, x_0).x
    teacher_error = (teacher_1 - target).pow(2).sum(1).mean()
    student_error = (student_1 - target).pow(2).sum(1).mean()
    assert student_error < 0.5 * teacher_error, (float(student_error), float(teacher_error))
