"""Kill test: SIGKILL a CPU training run again and again, resuming from last.ckpt each time.

Starts ``flowdiff-train`` (toy 2-D data, a 2-million-parameter MLP so each checkpoint takes a
moment to write) and kills it with SIGKILL, alternating two moments:

* ``random``: a uniform random delay after training (re)starts: in a step, in validation or
  in a checkpoint write, wherever it falls;
* ``write``: in the middle of overwriting ``last.ckpt`` (its temporary file holds some bytes),
  the first or second time after the (re)start.

After every kill it checks that every ``*.ckpt`` in the run loads with ``weights_only=True``
(none is corrupt) and that ``last.ckpt``'s step never moved backwards, then resumes with
``ckpt_path=<run>/checkpoints/last.ckpt``. A resume counts as successful when the next process
reports Lightning's "Restored all states from the checkpoint". A last resume runs to the end.

    python -m tests.helpers.kill_test --kills 12            # the documented run (a few minutes)
    python -m tests.helpers.kill_test --kills 3 --work /tmp/kill   # as test_kill.py does
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flowdiff.checkpoints.atomic_io import TEMP_PREFIX
from flowdiff.checkpoints.reading import read_checkpoint

REPO = Path(__file__).resolve().parents[2]
RESTORED = "Restored all states from the checkpoint"
OVERRIDES = [
    "experiment=toy2d",
    "trainer=cpu",
    "data.num_samples=4000",
    "model.network.hidden=512",
    "model.network.depth=4",
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=1",
    "callbacks.progress_bar=null",
    "callbacks.sample_figures=null",
    "sampling_steps=2",
]


@dataclass
class Kill:
    """What one kill did and what the run looked like afterwards."""

    index: int
    mode: str
    seconds_after_start: float
    step_before: int | None
    step_after: int | None
    temp_file_left: bool
    checkpoints_readable: int
    checkpoints_corrupt: int
    resumed_from_checkpoint: bool


def cli_env(**extra: str) -> dict[str, str]:
    """This checkout's ``src`` and the repository (for ``tests``) first on ``PYTHONPATH``, plus
    ``extra`` variables."""
    path = [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)), **extra}


def train_command(config_name: str, overrides: list[str]) -> list[str]:
    """The ``flowdiff-train`` command line (the entry point beside this Python, if installed)."""
    entry = Path(sys.executable).with_name("flowdiff-train")
    program = [str(entry)] if entry.exists() else [sys.executable, "-m", "flowdiff.cli.train"]
    return [*program, f"--config-name={config_name}", *overrides]


def _env() -> dict[str, str]:
    return cli_env(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def _resume_from(run_dir: Path) -> Path | None:
    """``last.ckpt``; before the first one exists, the newest other checkpoint (a kill can land
    between the first epoch's top-k file and the first ``last.ckpt``)."""
    folder = run_dir / "checkpoints"
    if (folder / "last.ckpt").is_file():
        return folder / "last.ckpt"
    others = sorted(folder.glob("*.ckpt"), key=lambda f: f.stat().st_mtime)
    return others[-1] if others else None


def _command(run_dir: Path, max_epochs: int) -> list[str]:
    last = _resume_from(run_dir)
    resume = [f"ckpt_path={last}"] if last is not None else []
    return train_command(
        "train", [*OVERRIDES, f"max_epochs={max_epochs}", f"hydra.run.dir={run_dir}", *resume]
    )


def _step(run_dir: Path) -> int | None:
    last = _resume_from(run_dir)
    return int(read_checkpoint(last)["global_step"]) if last is not None else None


def _audit(run_dir: Path) -> tuple[int, int]:
    """(readable, corrupt) counts over every checkpoint of the run."""
    readable = corrupt = 0
    for file in (run_dir / "checkpoints").glob("*.ckpt"):
        try:
            read_checkpoint(file)
            readable += 1
        except ValueError:
            corrupt += 1
    return readable, corrupt


def _new_last_temp(folder: Path, seen: set[str]) -> str | None:
    """A temporary file of ``last.ckpt`` not seen before that already holds some bytes."""
    for file in folder.glob(f"{TEMP_PREFIX}last.ckpt.*"):
        if file.name in seen:
            continue
        try:
            if file.stat().st_size > 0:
                return file.name
        except OSError:  # renamed between glob and stat: that write just finished
            seen.add(file.name)
    return None


def _wait_for_writes(process: subprocess.Popen, folder: Path, count: int) -> None:
    """Return while ``last.ckpt`` is being overwritten for the ``count``-th time."""
    seen = {file.name for file in folder.glob(f"{TEMP_PREFIX}*")}
    while process.poll() is None:
        name = _new_last_temp(folder, seen) if (folder / "last.ckpt").is_file() else None
        if name is not None:
            seen.add(name)
            count -= 1
            if count == 0:
                return
        time.sleep(0.0002)


def _wait_for_text(process: subprocess.Popen, log: Path, texts: tuple[str, ...]) -> None:
    """Wait until the run's log shows one of ``texts`` (it has started training)."""
    while process.poll() is None and not any(t in log.read_text() for t in texts):
        time.sleep(0.05)


def kill_once(
    index: int, mode: str, run_dir: Path, delay: tuple[float, float], rng: random.Random, log: Path
) -> Kill:
    """Start (or resume) the run, SIGKILL it at a ``mode`` moment, then audit the folder."""
    step_before = _step(run_dir)
    resuming = step_before is not None
    with log.open("w") as output:
        process = subprocess.Popen(
            _command(run_dir, 10_000), stdout=output, stderr=subprocess.STDOUT, env=_env()
        )
        start = time.monotonic()
        _wait_for_text(process, log, (RESTORED,) if resuming else ("Trainable params",))
        if mode == "write":
            _wait_for_writes(process, run_dir / "checkpoints", rng.randint(1, 2))
        else:
            time.sleep(rng.uniform(*delay))
        seconds = time.monotonic() - start
        process.send_signal(signal.SIGKILL)
        process.wait()
    temp_left = any(f.name.startswith(TEMP_PREFIX) for f in (run_dir / "checkpoints").glob(".*"))
    readable, corrupt = _audit(run_dir) if (run_dir / "checkpoints").is_dir() else (0, 0)
    return Kill(
        index=index,
        mode=mode,
        seconds_after_start=round(seconds, 2),
        step_before=step_before,
        step_after=_step(run_dir),
        temp_file_left=temp_left,
        checkpoints_readable=readable,
        checkpoints_corrupt=corrupt,
        resumed_from_checkpoint=resuming and RESTORED in log.read_text(),
    )


def finish(run_dir: Path, log: Path) -> dict[str, object]:
    """Resume once more and let it end two epochs later; returns rc and steps."""
    before = _step(run_dir)
    epoch = int(read_checkpoint(_resume_from(run_dir))["epoch"])
    with log.open("w") as output:
        rc = subprocess.run(
            _command(run_dir, epoch + 2), stdout=output, stderr=subprocess.STDOUT, env=_env()
        ).returncode
    text = log.read_text()
    return {
        "rc": rc,
        "restored": RESTORED in text,
        "step_before": before,
        "step_after": _step(run_dir),
    }


def run(
    kills: int, work: Path, seed: int, delay: tuple[float, float] = (0.0, 8.0)
) -> dict[str, object]:
    """``kills`` kills (alternating random and mid-write), then a final resume to the end."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    run_dir = work / "run"
    rng = random.Random(seed)
    results: list[Kill] = []
    for index in range(kills):
        mode = "write" if index % 2 else "random"
        kill = kill_once(index + 1, mode, run_dir, delay, rng, work / f"log{index + 1}.txt")
        results.append(kill)
        print(json.dumps(asdict(kill)), flush=True)
    final = finish(run_dir, work / "final.txt")
    steps = [k.step_after for k in results if k.step_after is not None]
    summary = {
        "kills": len(results),
        "kills_mid_write": sum(k.mode == "write" and k.temp_file_left for k in results),
        "resumes_attempted": sum(k.step_before is not None for k in results),
        "resumes_restored": sum(k.resumed_from_checkpoint for k in results),
        "corrupt_checkpoints": sum(k.checkpoints_corrupt for k in results),
        "step_never_decreased": all(b >= a for a, b in itertools.pairwise(steps)),
        "final_resume": final,
    }
    print(json.dumps(summary, indent=2))
    return {"kills": [asdict(k) for k in results], "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("outputs/kill_test"))
    parser.add_argument(
        "--delay",
        type=float,
        nargs=2,
        default=(0.0, 8.0),
        help="range of the random kill delay after training starts, in seconds",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    result = run(args.kills, args.work, args.seed, tuple(args.delay))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
