"""Conditional accuracy of generated digits, judged by a classifier trained on real digits.

A support-vector classifier is trained on the digits *training* split (the same seeded split
the datamodule uses). It is scored on the real held-out split, then on samples generated for each
class: the share of samples classified as the class they were conditioned on.

    python benchmarks/digits_quality.py outputs/<run>/checkpoints/last.ckpt [more.ckpt ...]
    python benchmarks/digits_quality.py CKPT --sampler model.sampler.sampler_type=ddpm
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
from sklearn.svm import SVC

from flowdiff.data import DigitsDataModule
from flowdiff.inference import build_sampler
from flowdiff.model.module import GenerativeModule

sys.path.insert(0, str(Path(__file__).parent))
from report import write_section


def real_splits(seed: int = 0, val_fraction: float = 0.2):
    """Train and held-out digits in pixel units (0-16), flattened, with labels."""
    datamodule = DigitsDataModule(batch_size=64, seed=seed, val_fraction=val_fraction)
    datamodule.setup("fit")

    def arrays(dataset):
        x = datamodule.normalizer.denormalize(dataset.x).flatten(1).numpy()
        return x, dataset.cond.numpy()

    return arrays(datamodule.train_set), arrays(datamodule.val_set)


def generated_accuracy(classifier, ckpt: Path, per_class: int, overrides: dict, seed: int):
    """Share of generated samples classified as their conditioning label, and the NFE used."""
    model = GenerativeModule.load_from_checkpoint(ckpt)
    sampler = build_sampler(model.sampler, overrides, overrides.pop("sampling_steps", None))
    labels = torch.arange(10).repeat_interleave(per_class)
    start = time.perf_counter()
    out = model.generate(
        cond=labels, sampler=sampler, generator=torch.Generator().manual_seed(seed)
    )
    seconds = time.perf_counter() - start
    predicted = classifier.predict(out.x.flatten(1).numpy())
    return float((predicted == labels.numpy()).mean()), out.nfe, seconds, sampler


def parse_overrides(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        key, value = item.split("=", 1)
        key = key.removeprefix("model.sampler.")
        overrides[key] = int(value) if value.isdigit() else value
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpts", nargs="+", type=Path)
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument(
        "--sampler",
        nargs="*",
        default=[],
        help="sampler overrides, e.g. model.sampler.sampler_type=ddpm sampling_steps=50",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown file to write the table into (section 'digits_quality')",
    )
    parser.add_argument("--label", default="", help="name of this measurement in the report")
    args = parser.parse_args()

    (x_train, y_train), (x_val, y_val) = real_splits()
    classifier = SVC(gamma="scale").fit(x_train, y_train)
    real = float((classifier.predict(x_val) == y_val).mean())
    rows = [f"| real held-out digits ({len(y_val)}) | - | - | {real:.3f} | - |"]
    print(f"classifier accuracy on real held-out digits: {real:.3f}")
    for ckpt in args.ckpts:
        accuracy, nfe, seconds, sampler = generated_accuracy(
            classifier, ckpt, args.per_class, parse_overrides(args.sampler), args.seed
        )
        name = ", ".join(f"{k}={v}" for k, v in sampler.hparams.items() if k != "return_trajectory")
        print(f"{ckpt}: {type(sampler).__name__}({name}) NFE={nfe} accuracy={accuracy:.3f}")
        rows.append(
            f"| `{ckpt}` | {type(sampler).__name__}({name}) | {nfe} | {accuracy:.3f} "
            f"| {seconds:.1f} |"
        )
    if args.output:
        machine = platform.processor() or platform.machine()
        title = "## Conditional accuracy of generated digits" + (
            f" ({args.label})" * bool(args.label)
        )
        body = "\n".join(
            [
                title,
                "",
                f"Measured {time.strftime('%Y-%m-%d')} on {machine}"
                f" ({torch.get_num_threads()} threads), torch {torch.__version__}.",
                "",
                f"Command: `python benchmarks/digits_quality.py {' '.join(sys.argv[1:])}`",
                "",
                f"{args.per_class} samples per class; an SVC trained on the digits training split "
                "judges whether each sample shows the class it was conditioned on.",
                "",
                "| checkpoint | sampler | NFE | conditional accuracy | sampling s |",
                "|---|---|---|---|---|",
                *rows,
            ]
        )
        write_section(args.output, f"digits_quality{args.label and '_' + args.label}", body)


if __name__ == "__main__":
    main()
