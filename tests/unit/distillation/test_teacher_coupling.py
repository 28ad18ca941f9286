"""Reflow pairs come from the teacher: its sampler, its guidance, the batch's conditions."""

from __future__ import annotations

import pytest
import torch

from flowdiff.checkpoints.loading import load_model
from flowdiff.components import describe
from flowdiff.distillation import TeacherCoupling
from flowdiff.errors import ConfigError
from flowdiff.paths import FlowMatchingPath


def test_pairs_are_the_teachers_samples_given_each_condition(teacher_ckpt):
    coupling = TeacherCoupling(str(teacher_ckpt))
    teacher = load_model(teacher_ckpt).model
    x_0, cond = torch.randn(16, 2), torch.randn(16, 3)
    noise, x_1 = coupling(x_0, torch.zeros(16, 2), cond)
    assert noise is x_0 and x_1.shape == (16, 2)
    expected = teacher.sampler.sample(lambda x, t: teacher.network(x, t, cond), teacher.path, x_0)
    torch.testing.assert_close(x_1, expected.x)
    _, other = coupling(x_0, torch.zeros(16, 2), cond + 3.0)
    assert (other - x_1).abs().max() > 1e-3  # the condition is used, not dropped


def test_teacher_steps_set_the_teachers_sampler(teacher_ckpt):
    x_0, cond = torch.randn(8, 2), torch.randn(8, 3)
    _, four = TeacherCoupling(str(teacher_ckpt))(x_0, x_0, cond)  # trained sampler: 4 steps
    _, one = TeacherCoupling(str(teacher_ckpt), steps=1)(x_0, x_0, cond)
    teacher = load_model(teacher_ckpt).model
    half = x_0 + 0.5 * teacher.network(x_0, torch.zeros(8), cond)
    midpoint = x_0 + teacher.network(half, torch.full((8,), 0.5), cond)  # one midpoint step
    torch.testing.assert_close(one, midpoint)
    assert not torch.allclose(one, four)


def test_the_path_trains_on_the_pair_and_records_the_coupling(teacher_ckpt):
    coupling = TeacherCoupling(str(teacher_ckpt))
    path = FlowMatchingPath(coupling=coupling)
    x_1, cond = torch.randn(32, 2) + 10.0, torch.randn(32, 3)
    torch.manual_seed(0)
    drawn = path.sample(x_1, cond)
    torch.manual_seed(0)
    x_0 = torch.randn_like(x_1)
    _, teacher_x1 = coupling(x_0, x_1, cond)
    torch.testing.assert_close(drawn.target, teacher_x1 - x_0)  # condot: velocity x_1 - x_0
    record = describe(path)["coupling"]
    assert record["_target_"] == "flowdiff.distillation.TeacherCoupling"
    assert record["checkpoint"] == str(teacher_ckpt)


def test_a_coupling_that_is_not_a_component_is_refused():
    with pytest.raises(ConfigError, match=r"coupling=.*neither a coupling name"):
        FlowMatchingPath(coupling=lambda x_0, x_1, cond: x_0)


def test_teacher_steps_below_one_are_refused(teacher_ckpt):
    with pytest.raises(ConfigError, match="steps=0 must be at least 1"):
        TeacherCoupling(str(teacher_ckpt), steps=0)


def test_data_of_another_shape_than_the_teachers_are_refused(teacher_ckpt):
    coupling = TeacherCoupling(str(teacher_ckpt))
    with pytest.raises(ConfigError, match=r"draws samples of shape \[2\] but the data are \[5\]"):
        coupling(torch.randn(4, 5), torch.randn(4, 5), torch.randn(4, 3))
