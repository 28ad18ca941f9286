"""Kill test: SIGKILL a CPU training run again and again, resuming from last.ckpt each time.

Starts ``flowdiff-train`` (toy 2-D data, a 2-million-parameter MLP so each checkpoint takes a
moment to write) and kills it with SIGKILL, alternating two moments:

* ``random``: a uniform random delay after the start (start-up, restore, training or saving);
* ``write``: as soon as ``last.ckpt``'s temporary file holds some bytes: mid-write.

After every kill it checks that every ``*.ckpt`` in the run loads with ``weights_only=True``
(none is corrupt) and that ``last.ckpt``'s step never moved backwards, then resumes with
``ckpt_path=<run>/checkpoints/last.ckpt``. A resume counts as successful when the next process
reports Lightning's "Restored all states from the checkpoint". A last resume runs to the end.

    python benchmarks/kill_test.py --kills 12            # the documented run (a few minutes)
    python benchmarks/kill_test.py --kills 3 --work /tmp/kill   # what tests/test_kill.py runs
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from flowdiff.atomic_checkpoint import TEMP_PREFIX  # noqa: E402
from flowdiff.checkpoint import read_checkpoint  # noqa: E402

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


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _command(run_dir: Path, max_epochs: int) -> list[str]:
    train = Path(sys.executable).parent / "flowdiff-train"
    last = run_dir / "checkpoints" / "last.ckpt"
    resume = [f"ckpt_path={last}"] if last.is_file() else []
    return [str(train), *OVERRIDES, f"max_epochs={max_epochs}", f"hydra.run.dir={run_dir}", *resume]


def _step(run_dir: Path) -> int | None:
    last = run_dir / "checkpoints" / "last.ckpt"
    return int(read_checkpoint(last)["global_step"]) if last.is_file() else None


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


def _writing_last(folder: Path) -> bool:
    """Whether ``last.ckpt``'s temporary file exists and already holds some bytes."""
    for file in folder.glob(f"{TEMP_PREFIX}last.ckpt.*"):
        try:
            if file.stat().st_size > 0:
                return True
        except OSError:  # renamed between glob and stat: the write just finished
            pass
    return False


def _wait_for_write(process: subprocess.Popen, folder: Path, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and process.poll() is None:
        if _writing_last(folder):
            return True
        time.sleep(0.0002)
    return False


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
        if mode == "write":
            _wait_for_write(process, run_dir / "checkpoints", timeout=300)
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
    epoch = int(read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"])
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
    kills: int, work: Path, seed: int, delay: tuple[float, float] = (3.0, 30.0)
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
        default=(3.0, 30.0),
        help="range of the random kill delay after start, in seconds",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    result = run(args.kills, args.work, args.seed, tuple(args.delay))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
