"""The student starts from the teacher's weights and must share its data normalisation."""

from __future__ import annotations

import pytest
import torch

from flowdiff.checkpoints.loading import load_model
from flowdiff.distillation import StudentFromTeacher
from flowdiff.errors import ConfigError
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import FlowMatchingPath
from flowdiff.samplers import ODESampler


def test_the_student_gets_the_teachers_weights_and_normalisation_is_checked(teacher_ckpt):
    teacher = load_model(teacher_ckpt).model
    student = load_model(teacher_ckpt).model
    for parameter in student.network.parameters():
        parameter.data.zero_()
    callback = StudentFromTeacher(str(teacher_ckpt))
    callback.setup(None, student, "fit")
    for key, value in teacher.network.state_dict().items():
        torch.testing.assert_close(student.network.state_dict()[key], value)
    callback.on_fit_start(None, student)  # same normalisation: accepted
    student.normalizer.shift += 1.0
    with pytest.raises(ConfigError, match="normalised differently from the teacher's"):
        callback.on_fit_start(None, student)


def test_a_student_network_that_does_not_fit_is_refused(teacher_ckpt):
    network = MLP(data_shape=[2], hidden=16, depth=1, cond_shape=[3])
    student = GenerativeModule(network, FlowMatchingPath(), ODESampler(), data_shape=[2])
    with pytest.raises(ConfigError, match="does not fit the student's"):
        StudentFromTeacher(str(teacher_ckpt)).setup(None, student, "fit")


def test_no_teacher_is_refused():
    with pytest.raises(ConfigError, match="pass teacher_ckpt="):
        StudentFromTeacher(None)
