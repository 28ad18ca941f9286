"""The optional Inception FID: off by default, and a clear message when its extra or its
weights are missing. (Its weights are downloaded on first use, which this machine cannot do, so
no test computes it.)"""

from __future__ import annotations

import logging
import sys
import urllib.error

import pytest
import torch

from flowdiff.cli.errors import user_message
from flowdiff.errors import ConfigError
from flowdiff.evaluation import MetricOptions, MetricSuite, Reference
from tests.helpers.config import compose_config


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 16


def _reference(images: bool = True) -> Reference:
    if images:
        return Reference(_images(60, 0), None, _images(40, 1), None)
    return Reference(torch.randn(60, 2), None, torch.randn(40, 2), None)


def test_fid_is_off_by_default():
    assert MetricOptions().fid is False
    assert compose_config("eval", ["ckpt_path=x.ckpt"]).metrics.fid is False
    suite = MetricSuite(_reference())
    assert suite.inception_fid is None
    assert "fid" not in suite.score(_images(40, 2), None) and "fid" not in suite.floor()
    assert "frechet" in suite.floor()  # the download-free image metric stays


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    with pytest.raises(ModuleNotFoundError) as info:
        MetricSuite(_reference(), MetricOptions(fid=True))
    assert "pip install 'flowdiff[fid]'" in user_message(info.value)


def test_missing_weights_say_they_are_downloaded_on_first_use(monkeypatch, tmp_path, caplog):
    from torch_fidelity import feature_extractor_inceptionv3  # the dev extra has flowdiff[fid]

    def offline(url, **kwargs):  # what a machine without a network gets, without trying
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(feature_extractor_inceptionv3, "load_state_dict_from_url", offline)
    with caplog.at_level(logging.WARNING), pytest.raises(ConfigError) as info:
        MetricSuite(_reference(), MetricOptions(fid=True))
    message = str(info.value)
    assert "downloaded on first use" in message and "metrics.fid=false" in message
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert "downloading the Inception weights" in caplog.text


def test_fid_on_vectors_is_refused():
    with pytest.raises(ConfigError, match=r"needs images .* shape \(2,\)"):
        MetricSuite(_reference(images=False), MetricOptions(fid=True))
