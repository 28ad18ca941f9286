"""RNGState: the global random streams survive a checkpoint (weights-only loading included)."""

from __future__ import annotations

import io
import random

import numpy as np
import torch

from flowdiff.training.callbacks.rng_state import RNGState


def _draw() -> tuple[torch.Tensor, np.ndarray, float]:
    return torch.randn(4), np.random.rand(4), random.random()


def test_restored_state_draws_what_the_saved_one_would_have():
    callback = RNGState()
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    buffer = io.BytesIO()
    torch.save(callback.state_dict(), buffer)  # as Lightning writes callback states
    expected = _draw()
    _draw()  # the streams move on
    buffer.seek(0)
    callback.load_state_dict(torch.load(buffer, weights_only=True))
    got = _draw()
    torch.testing.assert_close(got[0], expected[0], rtol=0, atol=0)
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[2] == expected[2]


def test_the_checkpoint_keys_keep_lightnings_layout():
    """Checkpoints written before the callback used public calls hold these keys."""
    state = RNGState().state_dict()
    assert {"torch", "python", "numpy"} <= set(state)
    assert ("torch.cuda" in state) == torch.cuda.is_available()
    version, keys, _ = state["python"]
    assert version == 3 and len(keys) == 625
    kind, numpy_keys, *_ = state["numpy"]
    assert kind == "MT19937" and isinstance(numpy_keys, torch.Tensor)
