"""The npz-scene, HDF5 and arrays readers on small generated files, good and malformed."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from flowdiff.data import ArraysDataModule, HDF5DataModule, NpzScenesDataModule
from flowdiff.data.demo_events import write_events
from flowdiff.data.demo_scenes import make_scene, write_scenes
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian, write_pairs


def truncate(file, keep: float = 0.5) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)])


# --------------------------------------------------------------------------- npz scenes
@pytest.fixture
def scenes(tmp_path):
    folder = tmp_path / "scenes"
    write_scenes(folder, 12, size=32)
    return folder


def scenes_module(folder, **kwargs) -> NpzScenesDataModule:
    return NpzScenesDataModule(data_dir=str(folder), image_size=16, batch_size=4, **kwargs)


def test_scenes_give_goal_masks_given_five_context_masks(scenes):
    datamodule = scenes_module(scenes, val_fraction=0.25, test_fraction=0.25)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["x"].shape == (4, 1, 16, 16) and batch["cond"].shape == (4, 5, 16, 16)
    assert (len(datamodule.train_set), len(datamodule.val_set), len(datamodule.test_set)) == (
        6,
        3,
        3,
    )
    assert batch["x"].min() >= -1 and batch["x"].max() <= 1
    assert datamodule.normalizer.denormalize(batch["x"]).min() >= -1e-6  # masks in [0, 1]


def test_scenes_accept_legacy_key_names(tmp_path):
    scene = make_scene(np.random.default_rng(0), size=16)
    legacy = {"robot_image": "robot", "goal_image": "goal"}
    legacy |= {"movable_objects_image": "movable", "static_objects_image": "static"}
    for i in range(4):
        np.savez(tmp_path / f"{i}.npz", **{legacy.get(k, k): v for k, v in scene.items()})
    datamodule = scenes_module(tmp_path)
    datamodule.setup("fit")
    assert datamodule.train_set.cond.shape[1:] == (5, 16, 16)


def test_scenes_keys_are_configurable(scenes):
    datamodule = scenes_module(
        scenes, context_keys=["robot_image", "target_object"], cond_shape=[2, 16, 16]
    )
    datamodule.setup("fit")
    assert datamodule.train_set.cond.shape[1] == 2


def broken(kind, folder):
    files = sorted(folder.glob("*.npz"))
    if kind == "missing key":
        arrays = dict(np.load(files[3]))
        del arrays["target_object"]
        np.savez(files[3], **arrays)
    elif kind == "wrong shape":
        arrays = dict(np.load(files[3]))
        arrays["goal_image"] = arrays["goal_image"][:10]
        np.savez(files[3], **arrays)
    elif kind == "truncated":
        truncate(files[3])
    elif kind == "empty folder":
        for file in files:
            file.unlink()
    return files[3].name


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing key", r"scene_00003.npz: missing key 'target_object'"),
        ("wrong shape", r"scene_00003.npz: key 'goal_image' has shape \[10, 32\]"),
        ("truncated", r"scene_00003.npz: not a readable .npz"),
        ("empty folder", r"holds no .npz files"),
    ],
)
def test_malformed_scenes_name_the_file_and_key(scenes, kind, message):
    broken(kind, scenes)
    with pytest.raises((KeyError, ValueError, FileNotFoundError), match=message):
        scenes_module(scenes).setup("fit")


def test_scenes_folder_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        scenes_module(tmp_path / "nowhere").setup("fit")


# --------------------------------------------------------------------------- HDF5
@pytest.fixture
def events(tmp_path):
    return write_events(tmp_path / "events.h5", 60, n_sensors=16)


def hdf5_module(file, **kwargs) -> HDF5DataModule:
    kwargs = {"shape": [2, 16], "cond_shape": [6], "batch_size": 8, "chunk_size": 7} | kwargs
    return HDF5DataModule(file=str(file), **kwargs)


def test_hdf5_reads_batches_lazily_with_training_split_statistics(events):
    datamodule = hdf5_module(events, log1p_channels=[0], geometry_keys=["xpmt", "ypmt", "zpmt"])
    datamodule.setup("fit")
    assert (len(datamodule.splits.train), len(datamodule.splits.val)) == (48, 6)
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["x"].shape == (8, 2, 16) and batch["cond"].shape == (8, 6)
    assert torch.isfinite(batch["x"]).all()
    assert datamodule.geometry.shape == (3, 16)
    with h5py.File(events) as handle:
        rows = np.sort(datamodule.splits.train.numpy())
        raw = handle["input"][rows]
        labels = handle["label"][rows]
    assert datamodule.nonfinite_count == int(np.isinf(raw).sum()) > 0
    raw[~np.isfinite(raw)] = 0.0
    raw[:, 0] = np.log1p(raw[:, 0])
    expected_mean = raw.mean(axis=(0, 2))
    assert np.allclose(datamodule.normalizer.shift[:, 0].numpy(), expected_mean, rtol=1e-4)
    assert np.allclose(datamodule.cond_normalizer.shift.numpy(), labels.mean(0), rtol=1e-4)


def test_hdf5_batch_matches_the_file_in_any_index_order(events):
    datamodule = hdf5_module(events, normalization="none")
    datamodule.setup("fit")
    dataset = datamodule.dataset(torch.tensor([9, 2, 30]))
    batch = dataset.__getitems__([2, 0, 1])
    with h5py.File(events) as handle:
        expected = handle["input"][[2, 9, 30]][[2, 1, 0]]
    expected[~np.isfinite(expected)] = 0.0
    assert np.array_equal(batch["x"].numpy(), expected)


def test_hdf5_opens_while_a_writer_holds_the_file_in_swmr_mode(tmp_path):
    file = tmp_path / "live.h5"
    with h5py.File(file, "w", libver="latest") as writer:
        writer.create_dataset("input", data=np.ones((20, 2, 4), np.float32), maxshape=(None, 2, 4))
        writer.create_dataset("label", data=np.ones((20, 6), np.float32), maxshape=(None, 6))
        writer.swmr_mode = True
        datamodule = hdf5_module(file, shape=[2, 4], test_fraction=0.0)
        datamodule.setup("fit")
        assert next(iter(datamodule.val_dataloader()))["x"].shape[1:] == (2, 4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x_key": "signal"}, r"events.h5: no dataset 'signal' \(x_key\)"),
        ({"cond_key": "labels"}, r"events.h5: no dataset 'labels' \(cond_key\)"),
        ({"shape": [2, 32]}, r"'input' samples have shape \[2, 16\] but shape=\[2, 32\]; set"),
        ({"cond_shape": [5]}, r"events.h5: 'label' conditions have shape \(6,\)"),
        ({"log1p_channels": [2]}, r"log1p_channels=\[2\]: \[2\] are not channels"),
        ({"file": "missing.h5"}, r"^file='missing.h5' does not exist"),
    ],
)
def test_hdf5_problems_name_the_file_and_key(events, change, message):
    file = change.pop("file", events)
    with pytest.raises((KeyError, ValueError, FileNotFoundError), match=message):
        hdf5_module(file, **change).setup("fit")


def test_truncated_hdf5_is_named(events):
    # A copy: HDF5 keeps files it wrote open within the process, so truncate another path.
    copy = events.with_name("copy.h5")
    copy.write_bytes(events.read_bytes()[: events.stat().st_size // 3])
    with pytest.raises(ValueError, match=r"copy.h5: not a readable HDF5 file"):
        hdf5_module(copy).setup("fit")


def test_hdf5_rows_must_agree(tmp_path):
    file = tmp_path / "bad.h5"
    with h5py.File(file, "w") as handle:
        handle["input"] = np.zeros((10, 2, 16), np.float32)
        handle["label"] = np.zeros((9, 6), np.float32)
    with pytest.raises(ValueError, match=r"bad.h5: 'label' has 9 rows but 'input' has 10"):
        hdf5_module(file).setup("fit")


# --------------------------------------------------------------------------- arrays
@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_arrays_hold_parameters_given_observations(tmp_path, suffix):
    file = write_pairs(tmp_path / "pairs.npz", LinearGaussian.random(3, 5), 200)
    if suffix == ".pt":
        arrays = dict(np.load(file))
        file = tmp_path / "pairs.pt"
        torch.save({key: torch.from_numpy(value) for key, value in arrays.items()}, file)
    datamodule = ArraysDataModule(file=str(file), shape=[3], cond_shape=[5], batch_size=16)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["x"].shape == (16, 3) and batch["cond"].shape == (16, 5)
    train_cond = datamodule.cond_normalizer.denormalize(datamodule.train_set.cond)
    assert torch.allclose(datamodule.cond_normalizer.shift, train_cond.mean(0).double().float())


def test_arrays_in_the_token_convention(tmp_path):
    file = tmp_path / "tokens.npz"
    np.savez(file, x=np.random.rand(40, 3, 1), cond=np.random.rand(40, 4, 2))
    datamodule = ArraysDataModule(file=str(file), shape=[3, 1], cond_shape=[4, 2])
    datamodule.setup("fit")
    assert datamodule.train_set.cond.shape[1:] == (4, 2)


def test_arrays_with_class_labels(tmp_path):
    file = tmp_path / "labels.npz"
    np.savez(file, x=np.random.rand(40, 2), cond=np.arange(40) % 4)
    datamodule = ArraysDataModule(file=str(file), shape=[2], num_classes=4)
    datamodule.setup("fit")
    assert datamodule.train_set.cond.dtype == torch.long


@pytest.mark.parametrize(
    ("write", "kwargs", "message"),
    [
        (
            lambda f: np.savez(f, y=np.zeros((5, 2))),
            {},
            r"pairs.npz: missing key\(s\) \['x', 'cond'\]",
        ),
        (
            lambda f: np.savez(f, x=np.zeros((5, 3)), cond=np.zeros((5, 2))),
            {},
            r"samples have shape \[3\] but shape=\[2\]; set shape=\[3\]",
        ),
        (
            lambda f: np.savez(f, x=np.zeros((5, 2)), cond=np.zeros((5, 4))),
            {"cond_shape": [3]},
            r"conditions have shape \[4\] but cond_shape=\[3\]; set cond_shape=\[4\]",
        ),
        (
            lambda f: np.savez(f, x=np.zeros((5, 2)), cond=np.zeros((4, 3))),
            {"cond_shape": [3]},
            "4 conditions for 5 samples",
        ),
        (
            lambda f: np.savez(f, x=np.zeros((5, 2)), cond=np.arange(5)),
            {},
            "holds integers; set num_classes=",
        ),
    ],
)
def test_malformed_arrays_are_named(tmp_path, write, kwargs, message):
    file = tmp_path / "pairs.npz"
    write(file)
    with pytest.raises((KeyError, ValueError), match=message):
        ArraysDataModule(file=str(file), shape=[2], **kwargs).setup("fit")


def test_truncated_and_missing_arrays_files_are_named(tmp_path):
    file = write_pairs(tmp_path / "pairs.npz", LinearGaussian.random(3, 5), 500)
    truncate(file)
    with pytest.raises(ValueError, match=r"pairs.npz: not a readable"):
        ArraysDataModule(file=str(file), shape=[3], cond_shape=[5]).setup("fit")
    with pytest.raises(FileNotFoundError, match=r"^file=.*does not exist"):
        ArraysDataModule(file=str(tmp_path / "none.npz"), shape=[3]).setup("fit")


def test_split_ratios_must_leave_training_data(tmp_path):
    with pytest.raises(ValueError, match=r"^test_fraction=0.5"):
        ArraysDataModule(file="x.npz", shape=[2], val_fraction=0.5, test_fraction=0.5)
