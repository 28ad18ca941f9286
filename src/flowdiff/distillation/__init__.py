"""Few-step generation: reflow (rectified flow) of a trained checkpoint or posterior.

:class:`TeacherCoupling` pairs noise with a teacher's samples (the flow-matching path's
``coupling``); :class:`StudentFromTeacher` starts the student from the teacher's weights;
:func:`reflow_posterior` does both for a :class:`~flowdiff.sbi.Posterior`. See docs/few_step.md.
"""

from flowdiff.distillation.posterior_reflow import reflow_posterior
from flowdiff.distillation.student_init import StudentFromTeacher
from flowdiff.distillation.teacher_coupling import TeacherCoupling

__all__ = ["StudentFromTeacher", "TeacherCoupling", "reflow_posterior"]
