"""The main classes import from the top level, lazily: ``import flowdiff`` loads no torch."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import flowdiff


def test_all_lists_every_export():
    assert sorted(flowdiff.__all__) == sorted(flowdiff._EXPORTS)


@pytest.mark.parametrize("name", flowdiff.__all__)
def test_every_top_level_name_is_its_module_s_object(name):
    module = importlib.import_module(flowdiff._EXPORTS[name])
    assert getattr(flowdiff, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'GenerativeModel'"):
        _ = flowdiff.GenerativeModel


def test_import_flowdiff_stays_light():
    code = "import sys, flowdiff; print([m for m in ('torch', 'lightning') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_data_loads_the_normaliser_not_the_whole_model():
    code = (
        "import sys, flowdiff.data, flowdiff.model.normalizer; "
        "print([m for m in ('flowdiff.model.module', 'flowdiff.paths', 'flowdiff.samplers') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_model_package_still_exports_its_classes():
    import flowdiff.model
    from flowdiff.model import module, normalizer

    assert flowdiff.model.GenerativeModule is module.GenerativeModule
    assert flowdiff.model.Normalizer is normalizer.Normalizer
