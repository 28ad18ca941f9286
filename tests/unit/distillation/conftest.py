"""A tiny conditional teacher checkpoint (2-D data given 3-D vectors), trained once."""

from __future__ import annotations

import pytest

from tests.helpers.runs import vector_run


@pytest.fixture(scope="session")
def teacher_ckpt(tmp_path_factory):
    return vector_run(tmp_path_factory.mktemp("teacher"))
