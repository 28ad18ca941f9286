"""Conditional accuracy of generated digits, judged by a classifier trained on real digits.

A support-vector classifier is trained on the digits *training* split (the same seeded split
the datamodule uses). It is scored on the real held-out split, then on samples generated for each
class: the share of samples classified as the class they were conditioned on. The judge and the
accuracy (:func:`digit_judge`, :func:`conditional_accuracy`) serve the other digits benchmarks too.

    python -m studies.digits_quality outputs/<run>/checkpoints/last.ckpt [more.ckpt ...]
    python -m studies.digits_quality CKPT --sampler model.sampler.sampler_type=ddpm
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from sklearn.svm import SVC

from flowdiff.data import DigitsDataModule
from flowdiff.inference import build_sampler
from flowdiff.model.module import GenerativeModule
from studies.common import Stopwatch, provenance, write_section


def real_splits(seed: int = 0, val_fraction: float = 0.2):
    """Train and held-out digits in pixel units (0-16), flattened, with labels."""
    datamodule = DigitsDataModule(batch_size=64, seed=seed, val_fraction=val_fraction)
    datamodule.setup("fit")

    def arrays(dataset):
        x = datamodule.normalizer.denormalize(dataset.x).flatten(1).numpy()
        return x, dataset.cond.numpy()

    return arrays(datamodule.train_set), arrays(datamodule.val_set)


def digit_judge() -> tuple[SVC, float, int]:
    """An SVC fitted on the real training split; its accuracy on the real held-out digits and
    their number."""
    (x_train, y_train), (x_val, y_val) = real_splits()
    classifier = SVC(gamma="scale").fit(x_train, y_train)
    return classifier, float((classifier.predict(x_val) == y_val).mean()), len(y_val)


def conditional_accuracy(classifier: SVC, model: GenerativeModule, per_class: int, seed: int, **kw):
    """Generate ``per_class`` digits of each class from seeded noise (``kw`` go to
    ``model.generate``: a sampler, a guidance scale); returns the share the classifier assigns
    to their class, the ``SamplerOutput`` and the sampling seconds."""
    labels = torch.arange(10).repeat_interleave(per_class)
    generator = torch.Generator().manual_seed(seed)
    with Stopwatch() as watch:
        out = model.generate(cond=labels, generator=generator, **kw)
    predicted = classifier.predict(out.x.flatten(1).numpy())
    return float((predicted == labels.numpy()).mean()), out, watch.seconds


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

    classifier, real, held_out = digit_judge()
    rows = [f"| real held-out digits ({held_out}) | - | - | {real:.3f} | - |"]
    print(f"classifier accuracy on real held-out digits: {real:.3f}")
    for ckpt in args.ckpts:
        model = GenerativeModule.load_from_checkpoint(ckpt)
        overrides = parse_overrides(args.sampler)
        sampler = build_sampler(model.sampler, overrides, overrides.pop("sampling_steps", None))
        accuracy, out, seconds = conditional_accuracy(
            classifier, model, args.per_class, args.seed, sampler=sampler
        )
        nfe = out.nfe
        name = ", ".join(f"{k}={v}" for k, v in sampler.hparams.items() if k != "return_trajectory")
        print(f"{ckpt}: {type(sampler).__name__}({name}) NFE={nfe} accuracy={accuracy:.3f}")
        rows.append(
            f"| `{ckpt}` | {type(sampler).__name__}({name}) | {nfe} | {accuracy:.3f} "
            f"| {seconds:.1f} |"
        )
    if args.output:
        title = "## Conditional accuracy of generated digits" + (
            f" ({args.label})" * bool(args.label)
        )
        body = "\n".join(
            [
                title,
                "",
                *provenance(),
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
