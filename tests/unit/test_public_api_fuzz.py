"""Fuzz-style: each public function outside ``flowdiff.sbi`` fed wrong types, dtypes, shapes,
sizes, NaN/inf and wrong options raises the documented error kind naming the argument, before
any sampling time is spent (the samplers and the evaluation's drawing are made to fail the test
if they are reached).

Each case is ``name: (what is given, call, error kind, words the message must hold)``; with
``FLOWDIFF_RECORD_MESSAGES`` set the messages land in docs/reliability.md's Python API table
(``python -m tests.helpers.bad_input_table``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import flowdiff
from flowdiff.errors import (
    CheckpointError,
    ConfigError,
    DeviceError,
    FlowdiffError,
    InputTypeError,
    InputValueError,
    ModelNotFoundError,
    OutputError,
)
from flowdiff.model.checkpoint_record import parts_record
from flowdiff.model.diffusers_export import to_diffusers_pipeline
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import FlowMatchingPath
from flowdiff.samplers import ODESampler
from tests.helpers.cli import record_python_error


class XOnly(nn.Module):
    """A network that does not take ``(x_t, t, cond)``."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x):
        return self.linear(x)


def module(**network) -> GenerativeModule:
    mlp = MLP([2], hidden=8, depth=1, **network)
    return GenerativeModule(mlp, FlowMatchingPath(), ODESampler(steps=2), data_shape=[2])


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("fuzz")
    plain, labels, vectors = module(), module(num_classes=3), module(cond_shape=[2])
    record = parts_record(plain.network, plain.path, plain.sampler)
    checkpoint = {
        "flowdiff": record,
        "hyper_parameters": dict(plain.hparams),
        "state_dict": plain.state_dict(),
    }
    torch.save(checkpoint, folder / "model.ckpt")
    plain.save_pretrained(folder / "hf")
    return SimpleNamespace(
        plain=plain,
        labels=labels,
        vectors=vectors,
        checkpoint=checkpoint,
        ckpt=folder / "model.ckpt",
        folder=folder,
    )


@pytest.fixture(autouse=True)
def no_sampling(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # relative names ('my_model') resolve under the test's folder

    def refuse(*args, **kwargs):
        raise AssertionError("sampling started before the arguments were checked")

    monkeypatch.setattr(ODESampler, "sample", refuse)
    monkeypatch.setattr("flowdiff.evaluation.api.draw", refuse)


NAN2 = torch.tensor([[0.0, math.nan], [1.0, 1.0]])
GPU_INDEX = torch.cuda.device_count()  # torch reads an int as cuda:<int>
CUDA = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"

CASES = {
    # GenerativeModule(...)
    "network without (x_t, t, cond)": (
        "GenerativeModule(network=<forward(x)>, ...)",
        lambda c: GenerativeModule(XOnly(), FlowMatchingPath(), ODESampler(), [2]),
        InputTypeError,
        ["network=XOnly", "network(x_t, t, cond)"],
    ),
    "network not a module": (
        "GenerativeModule(network=<a function>, ...)",
        lambda c: GenerativeModule(lambda x, t, c: x, FlowMatchingPath(), ODESampler(), [2]),
        InputTypeError,
        ["network must be a torch.nn.Module"],
    ),
    "sampler not a sampler": (
        "GenerativeModule(..., sampler='rk4')",
        lambda c: GenerativeModule(MLP([2], hidden=8), FlowMatchingPath(), "rk4", [2]),
        InputTypeError,
        ["sampler must be a flowdiff sampler", "str"],
    ),
    "data_shape not positive ints": (
        "GenerativeModule(..., data_shape=[0])",
        lambda c: GenerativeModule(MLP([2], hidden=8), FlowMatchingPath(), ODESampler(), [0]),
        InputValueError,
        ["data_shape=[0]", "positive integers"],
    ),
    "cond_drop_prob a string": (
        "GenerativeModule(..., cond_drop_prob='0.1')",
        lambda c: GenerativeModule(
            MLP([2], hidden=8), FlowMatchingPath(), ODESampler(), [2], cond_drop_prob="0.1"
        ),
        InputTypeError,
        ["cond_drop_prob='0.1'", "number"],
    ),
    "optimizer an instance": (
        "GenerativeModule(..., optimizer=torch.optim.SGD(params, lr=0.1))",
        lambda c: GenerativeModule(
            MLP([2], hidden=8),
            FlowMatchingPath(),
            ODESampler(),
            [2],
            optimizer=torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1),
        ),
        InputTypeError,
        ["optimizer must be a factory", "functools.partial"],
    ),
    # generate / sample
    "num_samples a float": (
        "model.sample(2.5)",
        lambda c: c.plain.sample(2.5),
        InputTypeError,
        ["num_samples=2.5", "int"],
    ),
    "num_samples a string": (
        "model.sample('10')",
        lambda c: c.plain.sample("10"),
        InputTypeError,
        ["num_samples='10'", "int"],
    ),
    "num_samples a bool": (
        "model.sample(True)",
        lambda c: c.plain.sample(True),
        InputTypeError,
        ["num_samples=True"],
    ),
    "num_samples negative": (
        "model.sample(-1)",
        lambda c: c.plain.sample(-1),
        InputValueError,
        ["num_samples=-1", ">= 0"],
    ),
    "num_samples and cond disagree": (
        "model.sample(3, cond=torch.tensor([0, 1]))",
        lambda c: c.labels.sample(3, cond=torch.tensor([0, 1])),
        InputValueError,
        ["num_samples=3", "2 conditions"],
    ),
    "cond a list": (
        "model.sample(cond=[0, 1])",
        lambda c: c.labels.sample(cond=[0, 1]),
        InputTypeError,
        ["cond must be a torch.Tensor", "torch.as_tensor"],
    ),
    "cond a numpy array": (
        "model.sample(cond=np.array([0, 1]))",
        lambda c: c.labels.sample(cond=np.array([0, 1])),
        InputTypeError,
        ["cond must be a torch.Tensor", "ndarray"],
    ),
    "float labels": (
        "labels model: sample(cond=torch.tensor([0.5, 1.0]))",
        lambda c: c.labels.sample(cond=torch.tensor([0.5, 1.0])),
        InputTypeError,
        ["cond has dtype torch.float32", "class labels", "long()"],
    ),
    "labels out of range": (
        "3-class model: sample(cond=torch.tensor([0, 7]))",
        lambda c: c.labels.sample(cond=torch.tensor([0, 7])),
        InputValueError,
        ["cond holds labels from 0 to 7", "[0, 2]"],
    ),
    "labels of the wrong shape": (
        "labels model: sample(cond=torch.zeros(2, 1, dtype=torch.long))",
        lambda c: c.labels.sample(cond=torch.zeros(2, 1, dtype=torch.long)),
        InputValueError,
        ["cond has shape [2, 1]", "(B,)"],
    ),
    "vector cond of the wrong width": (
        "cond_shape=[2] model: sample(cond=torch.zeros(4, 3))",
        lambda c: c.vectors.sample(cond=torch.zeros(4, 3)),
        InputValueError,
        ["cond has shape [4, 3]", "(B, 2)"],
    ),
    "integer vector cond": (
        "cond_shape=[2] model: sample(cond=torch.zeros(4, 2, dtype=torch.long))",
        lambda c: c.vectors.sample(cond=torch.zeros(4, 2, dtype=torch.long)),
        InputTypeError,
        ["cond has dtype torch.int64", "cond.float()"],
    ),
    "NaN in cond": (
        "cond_shape=[2] model: sample(cond=<a NaN row>)",
        lambda c: c.vectors.sample(cond=NAN2),
        InputValueError,
        ["cond holds NaN or inf values in 1 of 2 conditions"],
    ),
    "cond for an unconditional network": (
        "unconditional model: sample(cond=torch.zeros(2))",
        lambda c: c.plain.sample(cond=torch.zeros(2)),
        InputValueError,
        ["cond was given", "unconditional"],
    ),
    "generator not a Generator": (
        "model.sample(4, generator=0)",
        lambda c: c.plain.sample(4, generator=0),
        InputTypeError,
        ["generator must be a torch.Generator", "int"],
    ),
    "sampler not a sampler (generate)": (
        "model.generate(4, sampler='rk4')",
        lambda c: c.plain.generate(4, sampler="rk4"),
        InputTypeError,
        ["sampler must be a flowdiff sampler"],
    ),
    "guidance_scale a string": (
        "model.sample(4, guidance_scale='2')",
        lambda c: c.plain.sample(4, guidance_scale="2"),
        InputTypeError,
        ["guidance_scale='2'", "number"],
    ),
    "guidance_scale NaN": (
        "model.sample(4, guidance_scale=float('nan'))",
        lambda c: c.plain.sample(4, guidance_scale=math.nan),
        InputValueError,
        ["guidance_scale=nan", "finite"],
    ),
    # checkpoints
    "load onto a GPU that is not there": (
        "GenerativeModule.load_from_checkpoint(ckpt, map_location='cuda') without a GPU",
        lambda c: GenerativeModule.load_from_checkpoint(c.ckpt, map_location=CUDA),
        DeviceError,
        ["map_location=", "GPU"],
    ),
    "load onto a GPU index that is not there": (
        "GenerativeModule.load_from_checkpoint(ckpt, map_location=0) without a GPU",
        lambda c: GenerativeModule.load_from_checkpoint(c.ckpt, map_location=GPU_INDEX),
        DeviceError,
        ["map_location=", "GPU"],
    ),
    "unknown device": (
        "GenerativeModule.from_checkpoint(ckpt, map_location='gpu0')",
        lambda c: GenerativeModule.from_checkpoint(c.checkpoint, map_location="gpu0"),
        InputValueError,
        ["map_location='gpu0'", "'cpu', 'cuda'"],
    ),
    "from_checkpoint given a path": (
        "GenerativeModule.from_checkpoint('model.ckpt')",
        lambda c: GenerativeModule.from_checkpoint(str(c.ckpt)),
        InputTypeError,
        ["is a path", "load_from_checkpoint(path)"],
    ),
    "from_checkpoint of another dict": (
        "GenerativeModule.from_checkpoint({'state_dict': {}})",
        lambda c: GenerativeModule.from_checkpoint({"state_dict": {}}),
        InputValueError,
        ["checkpoint has no flowdiff, hyper_parameters", "flowdiff-train"],
    ),
    "ema not a bool": (
        "GenerativeModule.from_checkpoint(checkpoint, ema='raw')",
        lambda c: GenerativeModule.from_checkpoint(c.checkpoint, ema="raw"),
        InputTypeError,
        ["ema='raw'", "True (EMA weights) or False"],
    ),
    "missing checkpoint": (
        "GenerativeModule.load_from_checkpoint('nope.ckpt')",
        lambda c: GenerativeModule.load_from_checkpoint(c.folder / "nope.ckpt"),
        ModelNotFoundError,
        ["nope.ckpt", "does not exist"],
    ),
    # save / load
    "load of a number": (
        "GenerativeModule.load(3)",
        lambda c: GenerativeModule.load(3),
        InputTypeError,
        ["path must be a .ckpt file, a model folder or a Hub id"],
    ),
    "load of a missing .ckpt": (
        "GenerativeModule.load('nope.ckpt')",
        lambda c: GenerativeModule.load(c.folder / "nope.ckpt"),
        ModelNotFoundError,
        ["nope.ckpt", "does not exist"],
    ),
    "load of a missing folder": (
        "GenerativeModule.load('my_model')",
        lambda c: GenerativeModule.load("my_model"),
        ModelNotFoundError,
        ["'my_model'", "no such folder"],
    ),
    "load onto a GPU that is not there (folder)": (
        "GenerativeModule.load(<folder>, map_location='cuda') without a GPU",
        lambda c: GenerativeModule.load(c.folder / "hf", map_location=CUDA),
        DeviceError,
        ["map_location=", "GPU"],
    ),
    "save to a number": (
        "model.save(3)",
        lambda c: c.plain.save(3),
        InputTypeError,
        ["path must be a file path (.ckpt) or a folder path"],
    ),
    "save onto a pipe": (
        "model.save('pipe.ckpt') where pipe.ckpt is a FIFO (or /dev/null)",
        lambda c: c.plain.save(_fifo(c.folder / "pipe.ckpt")),
        OutputError,
        ["pipe.ckpt", "is not a regular file", "give a file path"],
    ),
    "save under a file": (
        "model.save('<a file>/sub/model.ckpt')",
        lambda c: c.plain.save(c.ckpt / "sub" / "model.ckpt"),
        OutputError,
        ["cannot write checkpoint", "sub/model.ckpt", "model.ckpt' is a file, not a folder"],
    ),
    # from_pretrained / save_pretrained
    "from_pretrained of a missing local folder": (
        "GenerativeModule.from_pretrained('my_model') (no such folder)",
        lambda c: GenerativeModule.from_pretrained("my_model"),
        ModelNotFoundError,
        ["'my_model'", "no such folder"],
    ),
    "from_pretrained of a missing ./ path": (
        "GenerativeModule.from_pretrained('./runs/a/b')",
        lambda c: GenerativeModule.from_pretrained("./runs/a/b"),
        ModelNotFoundError,
        ["'./runs/a/b'", "no such folder"],
    ),
    "from_pretrained of a file": (
        "GenerativeModule.from_pretrained('model.ckpt')",
        lambda c: GenerativeModule.from_pretrained(c.ckpt),
        ModelNotFoundError,
        ["is a file", "load_from_checkpoint"],
    ),
    "from_pretrained of a number": (
        "GenerativeModule.from_pretrained(3)",
        lambda c: GenerativeModule.from_pretrained(3),
        InputTypeError,
        ["pretrained_model_name_or_path", "int"],
    ),
    "save_pretrained onto a file": (
        "model.save_pretrained('model.ckpt')",
        lambda c: c.plain.save_pretrained(c.ckpt),
        InputValueError,
        ["save_directory=", "is a file"],
    ),
    "save_pretrained under a file": (
        "model.save_pretrained('<a file>/hf')",
        lambda c: c.plain.save_pretrained(c.ckpt / "hf"),
        OutputError,
        ["cannot write the model folder", "is a file, not a folder", "nothing was written"],
    ),
    "save_pretrained to a number": (
        "model.save_pretrained(3)",
        lambda c: c.plain.save_pretrained(3),
        InputTypeError,
        ["save_directory must be a folder path"],
    ),
    # to_diffusers_pipeline
    "pipeline of a non-module": (
        "to_diffusers_pipeline('model.ckpt')",
        lambda c: to_diffusers_pipeline(str(c.ckpt)),
        InputTypeError,
        ["model must be a GenerativeModule", "str"],
    ),
    "pipeline sampler_type not a string": (
        "to_diffusers_pipeline(model, sampler_type=1)",
        lambda c: to_diffusers_pipeline(c.plain, sampler_type=1),
        InputTypeError,
        ["sampler_type=1", "'ddpm' or 'ddim'"],
    ),
    "pipeline of a flow-matching MLP": (
        "to_diffusers_pipeline(<flow-matching MLP>)",
        lambda c: to_diffusers_pipeline(c.plain),
        InputValueError,
        ["needs a U-Net on a diffusion path"],
    ),
    # flowdiff.compose_config / flowdiff.train
    "compose_config overrides a string": (
        "flowdiff.compose_config('train', 'trainer=cpu')",
        lambda c: flowdiff.compose_config("train", "trainer=cpu"),
        InputTypeError,
        ["overrides='trainer=cpu'", "list of 'key=value' strings"],
    ),
    "compose_config of a missing config": (
        "flowdiff.compose_config('nope')",
        lambda c: flowdiff.compose_config("nope"),
        ConfigError,
        ["compose_config('nope', ...)", "Cannot find primary config 'nope'"],
    ),
    "compose_config unknown key": (
        "flowdiff.compose_config('train', ['nope=1'])",
        lambda c: flowdiff.compose_config("train", ["nope=1"]),
        ConfigError,
        ["Could not override 'nope'", "+nope=1"],
    ),
    "train of a string": (
        "flowdiff.train('train')",
        lambda c: flowdiff.train("train"),
        InputTypeError,
        ["cfg must be a config from flowdiff.compose_config()"],
    ),
    # flowdiff.evaluate
    "evaluate a number": (
        "flowdiff.evaluate(3)",
        lambda c: flowdiff.evaluate(3),
        InputTypeError,
        ["model must be a GenerativeModule or a checkpoint path"],
    ),
    "evaluate num_samples a float": (
        "flowdiff.evaluate(model, dm, num_samples=1e3)",
        lambda c: flowdiff.evaluate(c.plain, datamodule=_datamodule(), num_samples=1e3),
        InputTypeError,
        ["num_samples=1000.0", "int"],
    ),
    "evaluate num_samples 0": (
        "flowdiff.evaluate(model, dm, num_samples=0)",
        lambda c: flowdiff.evaluate(c.plain, datamodule=_datamodule(), num_samples=0),
        InputValueError,
        ["num_samples=0", ">= 1"],
    ),
    "evaluate batch_size 0": (
        "flowdiff.evaluate(model, dm, batch_size=0)",
        lambda c: flowdiff.evaluate(c.plain, datamodule=_datamodule(), batch_size=0),
        InputValueError,
        ["batch_size=0", ">= 1"],
    ),
    "evaluate datamodule not a datamodule": (
        "flowdiff.evaluate(model, datamodule=torch.zeros(10, 2))",
        lambda c: flowdiff.evaluate(c.plain, datamodule=torch.zeros(10, 2)),
        InputTypeError,
        ["datamodule must be a LightningDataModule", "Tensor"],
    ),
    "evaluate without datamodule": (
        "flowdiff.evaluate(model)",
        lambda c: flowdiff.evaluate(c.plain),
        InputValueError,
        ["needs datamodule="],
    ),
    "evaluate nll_options not a dict": (
        "flowdiff.evaluate(model, dm, nll_options='exact')",
        lambda c: flowdiff.evaluate(c.plain, datamodule=_datamodule(), nll_options="exact"),
        InputTypeError,
        ["nll_options must be a dict"],
    ),
    "evaluate nll_options out of range": (
        "flowdiff.evaluate(model, dm, nll_options={'method': 'rk4', 'steps': 0})",
        lambda c: flowdiff.evaluate(
            c.plain, datamodule=_datamodule(), nll_options={"method": "rk4", "steps": 0}
        ),
        InputValueError,
        ["steps=0", ">= 1"],
    ),
    "evaluate nll_options unknown": (
        "flowdiff.evaluate(model, dm, nll_options={'step': 8})",
        lambda c: flowdiff.evaluate(c.plain, datamodule=_datamodule(), nll_options={"step": 8}),
        InputTypeError,
        ["['step'] unknown", "steps"],
    ),
    "evaluate missing checkpoint": (
        "flowdiff.evaluate('missing.ckpt')",
        lambda c: flowdiff.evaluate(c.folder / "missing.ckpt"),
        FileNotFoundError,
        ["missing.ckpt"],
    ),
}


def _fifo(path: Path) -> Path:
    if not path.exists():
        os.mkfifo(path)
    return path


def _datamodule():
    from flowdiff.data import Toy2DDataModule

    return Toy2DDataModule(num_samples=64, batch_size=32)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_python_input_is_refused_by_name(case, ctx):
    _, call, kind, words = CASES[case]
    with pytest.raises(kind) as info:
        call(ctx)
    message = str(info.value)
    if isinstance(info.value, FlowdiffError):
        record_python_error(info.value)
    for word in words:
        assert word in message, message
    assert len(message.splitlines()) == 1, message


def test_each_error_kind_is_also_the_builtin_a_caller_catches():
    assert issubclass(InputTypeError, TypeError) and issubclass(InputValueError, ValueError)
    assert issubclass(ModelNotFoundError, FileNotFoundError)
    assert issubclass(ModelNotFoundError, CheckpointError) and issubclass(DeviceError, RuntimeError)


def test_zero_samples_or_empty_cond_give_an_empty_batch(ctx):
    assert ctx.plain.sample(0).shape == (0, 2)
    out = ctx.labels.generate(cond=torch.zeros(0, dtype=torch.long))
    assert out.x.shape == (0, 2) and out.nfe == 0


def test_numpy_integer_counts_are_accepted(ctx, monkeypatch):
    monkeypatch.undo()  # sample for real
    assert ctx.plain.sample(np.int64(3)).shape == (3, 2)


def test_nan_samples_warn_by_name(ctx, monkeypatch):
    monkeypatch.undo()
    broken = module()
    with torch.no_grad():
        broken.network.output[-1].bias.fill_(math.nan)
    with pytest.warns(flowdiff.errors.NonFiniteSampleWarning, match=r"3 of 3 samples hold NaN"):
        broken.sample(3)


def test_record_of_python_errors_is_optional(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWDIFF_RECORD_MESSAGES", str(tmp_path / "m.jsonl"))
    record_python_error(InputValueError("x=1 must be 2."))
    recorded = Path(os.environ["FLOWDIFF_RECORD_MESSAGES"]).read_text()
    assert "InputValueError: x=1 must be 2." in recorded


def test_checkpoint_with_nan_weights_warns_on_load(ctx):
    checkpoint = {**ctx.checkpoint, "state_dict": dict(ctx.checkpoint["state_dict"])}
    checkpoint["state_dict"]["network.output.2.bias"] = torch.full((2,), math.nan)
    with pytest.warns(flowdiff.errors.NonFiniteSampleWarning, match=r"1 weight tensors hold NaN"):
        GenerativeModule.from_checkpoint(checkpoint)
