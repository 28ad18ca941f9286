"""Lightning's hook name is stored on the module without torch's Module.__setattr__, and nothing
else changes."""

from __future__ import annotations

import torch

from flowdiff.model.hook_names import HOOK_NAME
from flowdiff.training import build


def test_a_fit_sets_the_hook_name_without_torchs_setattr(make_config, monkeypatch):
    datamodule, model, trainer = build(make_config("train", "max_epochs=1"))
    names = []
    original = torch.nn.Module.__setattr__

    def counting(self, name, value):
        names.append(name)
        original(self, name, value)

    monkeypatch.setattr(torch.nn.Module, "__setattr__", counting)
    trainer.fit(model, datamodule=datamodule)
    monkeypatch.undo()
    assert trainer.global_step > 0
    assert HOOK_NAME not in names  # Lightning set it dozens of times a step, all past torch
    assert getattr(model, HOOK_NAME) is None  # and reset it after the last hook, as before


def test_other_attributes_still_register_as_torch_does(make_config):
    _, model, _ = build(make_config())
    setattr(model, HOOK_NAME, "training_step")
    assert vars(model)[HOOK_NAME] == "training_step"
    model.extra = torch.nn.Linear(2, 2)
    model.scale = torch.nn.Parameter(torch.ones(1))
    assert "extra" in dict(model.named_children()) and "scale" in dict(model.named_parameters())
    assert HOOK_NAME not in model.state_dict()
