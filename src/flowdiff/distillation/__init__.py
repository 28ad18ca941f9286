"""Few-step generation: reflow (rectified flow) and MeanFlow distillation of a trained
checkpoint or posterior.

:class:`TeacherCoupling` pairs noise with a teacher's samples (the flow-matching path's
``coupling``); :class:`StudentFromTeacher` starts the student from the teacher's weights;
:func:`reflow_posterior` does both for a :class:`~flowdiff.sbi.Posterior`;
:class:`TeacherVelocity` is a mean-flow path's teacher (:func:`mean_flow_posterior`).
See docs/few_step.md.
"""

from flowdiff.distillation.posterior_mean_flow import mean_flow_posterior
from flowdiff.distillation.posterior_reflow import reflow_posterior
from flowdiff.distillation.student_init import StudentFromTeacher
from flowdiff.distillation.teacher_coupling import TeacherCoupling
from flowdiff.distillation.teacher_velocity import TeacherVelocity

__all__ = [
    "StudentFromTeacher",
    "TeacherCoupling",
    "TeacherVelocity",
    "mean_flow_posterior",
    "reflow_posterior",
]
