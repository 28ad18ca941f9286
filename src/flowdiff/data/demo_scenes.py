"""Synthetic scenes in the npz format ``data=npz`` reads, with a goal mask a network can learn.

Each scene is a square room: walls (``static_objects_image``), a few movable boxes
(``movable_objects_image``), one of them the ``target_object``, the robot (``robot_image``) and the
robot's goal (``goal_image``), both small disks. The ground-truth ``target_goal`` is the target
box's shape moved so that it is centred on the robot's goal, plus a small random offset: to
generate it a network must copy a shape from one channel to a place given by another.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _disk(size: int, center: np.ndarray, radius: float) -> np.ndarray:
    rows, cols = np.mgrid[:size, :size]
    return ((rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2).astype(np.uint8)


def _box(size: int, top: int, left: int, height: int, width: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[max(top, 0) : top + height, max(left, 0) : left + width] = 1
    return mask


def make_scene(rng: np.random.Generator, size: int = 64, max_offset: int = 2) -> dict:
    """One scene: the six masks ``(size, size)`` (uint8, 0/1) of the npz scenes format."""
    wall = max(1, size // 32)
    static = np.zeros((size, size), np.uint8)
    static[:wall], static[-wall:], static[:, :wall], static[:, -wall:] = 1, 1, 1, 1
    start = rng.integers(size // 4, size // 2)
    static[size // 2 - wall // 2 : size // 2 + wall - wall // 2, start : start + size // 3] = 1
    boxes = []
    for _ in range(rng.integers(2, 5)):
        height, width = rng.integers(size // 10, size // 5, 2)
        top, left = rng.integers(2 * wall, size - 2 * wall - max(height, width), 2)
        boxes.append((height, width, _box(size, top, left, height, width)))
    movable = np.clip(sum(box for *_, box in boxes), 0, 1).astype(np.uint8)
    height, width, target = boxes[0]
    robot = _disk(size, rng.integers(size // 6, 5 * size // 6, 2), size / 20)
    goal_center = rng.integers(size // 4, 3 * size // 4, 2)
    goal = _disk(size, goal_center, size / 20)
    offset = rng.integers(-max_offset, max_offset + 1, 2)
    top, left = goal_center - np.array([height, width]) // 2 + offset
    return {
        "robot_image": robot,
        "goal_image": goal,
        "movable_objects_image": movable,
        "static_objects_image": static,
        "target_object": target,
        "target_goal": _box(size, int(top), int(left), int(height), int(width)),
    }


def write_scenes(folder: str | Path, count: int, size: int = 64, seed: int = 0) -> list[Path]:
    """Write ``count`` scenes as ``scene_00000.npz``... into ``folder``; returns the files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = []
    for i in range(count):
        file = folder / f"scene_{i:05d}.npz"
        np.savez_compressed(file, **make_scene(rng, size))
        files.append(file)
    return files
