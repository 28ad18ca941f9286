"""The strong digits judge: sbibm's C2ST of all 1,797 generated digits against all 1,797 real ones.

The pixel C2ST of ``flowdiff-eval`` compares a few hundred held-out digits (within each class,
a few dozen) with an early-stopped classifier: its real-vs-real floor sits below chance, so it is
noisy and weak. This study uses the evaluation's ``full_c2st`` option
(:meth:`flowdiff.evaluation.suite.MetricSuite.full_c2st`): generate one digit for each real digit
(training and held-out splits, with its label, seeded), round the generated pixels to the 17 grey
levels, and score with sbibm's C2ST (a 640 x 640 MLP trained without early stopping, 5-fold); the
floor compares two random halves of the real digits (898 vs 898). Also the share of generated
digits that ``flowdiff-eval``'s classifier (trained on the real training split) assigns to
their class, as its ``cond_accuracy``.

    python -m studies.digits_judge outputs/<run>/checkpoints/last.ckpt --label "default job"

``--samplers dpmsolver++:20 ddim:50 ...`` judges each checkpoint with each diffusers sampler
(``sampler_type:steps``; the checkpoint's own sampler when absent), all against one floor, the
way issue 24 chose the diffusion preset's default sampler (docs/benchmarks.md#diffusion-preset);
``--section`` names the result file's section, so two processes (one per core) can share a file.
"""

from __future__ import annotations

import json

import torch

from flowdiff.data import DigitsDataModule
from flowdiff.evaluation.reference import Reference
from flowdiff.evaluation.suite import MetricOptions, MetricSuite
from flowdiff.inference.sampler_choice import build_sampler
from flowdiff.model.module import GenerativeModule
from flowdiff.samplers import DiffusersSampler
from studies.common import Stopwatch, arguments, provenance, publish

SECTION = "digits_judge"


def all_digits() -> Reference:
    """All 1,797 digits in pixel units (0-16), split as the default job splits them (the
    training loader drops its last partial batch, so the splits are read directly). Read
    without normalisation: a round trip through the default's would add float error."""
    datamodule = DigitsDataModule(batch_size=256, seed=0, val_fraction=0.2, normalization="none")
    datamodule.setup("fit")

    def units(dataset):
        return datamodule.normalizer.denormalize(dataset.x), dataset.cond

    return Reference(*units(datamodule.train_set), *units(datamodule.val_set))


def parse_sampler(spec: str | None, options: dict | None = None) -> DiffusersSampler | None:
    """``"ddim:50"`` -> a :class:`DiffusersSampler` with ``options`` as its
    ``scheduler_options`` (``None``: the checkpoint's own sampler)."""
    if spec is None:
        return None
    sampler_type, steps = spec.rsplit(":", 1)
    return DiffusersSampler(sampler_type=sampler_type, steps=int(steps), scheduler_options=options)


def own_sampler(model: GenerativeModule, settings: dict | None):
    """The checkpoint's own sampler with ``settings`` (e.g. ``{"grid_power": 2}``) merged onto
    its recorded arguments; ``None`` keeps it as trained."""
    return build_sampler(model.sampler, settings) if settings else None


def judge(ckpt, suite: MetricSuite, sampler=None, options=None, seed: int = 0, own=None) -> dict:
    """Full-sample C2ST and class accuracy of the checkpoint's digits drawn with ``sampler`` (or
    its own sampler with the settings ``own``)."""
    model = GenerativeModule.load_from_checkpoint(ckpt, map_location="cpu")
    reference = suite.reference
    labels = torch.cat([reference.train_cond, reference.val_cond])
    generator = torch.Generator().manual_seed(seed)
    chosen = parse_sampler(sampler, options) or own_sampler(model, own)
    with Stopwatch() as sampling:
        out = model.generate(cond=labels, sampler=chosen, generator=generator)
    accuracy = suite.features.accuracy(out.x, labels)  # flowdiff-eval's cond_accuracy judge
    with Stopwatch() as scoring:
        full = suite.full_c2st(out.x)
    return dict(
        count=len(out.x), c2st_full=full, nfe=out.nfe, sampling_s=sampling.seconds,
        scoring_s=scoring.seconds, accuracy=accuracy,
    )  # fmt: skip


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("ckpts", nargs="+")
    parser.add_argument("--label", nargs="*", default=[], help="a name per checkpoint")
    parser.add_argument("--note", default="", help="how the checkpoints were trained")
    parser.add_argument("--samplers", nargs="*", default=[None], help="sampler_type:steps")
    parser.add_argument("--no-floor", action="store_true", help="skip the real-vs-real floor")
    parser.add_argument("--section", default=SECTION, help="section of the result file")
    parser.add_argument("--seed", type=int, default=0, help="the sampling noise's seed")
    parser.add_argument(
        "--scheduler-options",
        type=json.loads,
        default=None,
        help="JSON, e.g. '{\"clip_sample\": false}' (checkpoints trained before issue 24 "
        "store clip_sample=true; today's default is false)",
    )
    parser.add_argument(
        "--sampler-options",
        type=json.loads,
        default=None,
        help="JSON merged onto each checkpoint's own sampler, e.g. '{\"grid_power\": 2}'",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    with Stopwatch() as watch:
        suite = MetricSuite(all_digits(), MetricOptions(full_c2st=True, seed=0))
        ref = suite.reference
        real_accuracy = suite.features.accuracy(ref.val_x, ref.val_cond)
        floor = float("nan") if args.no_floor else suite.full_c2st_floor()
        print(f"floor {floor:.3f}, real accuracy {real_accuracy:.3f}", flush=True)
        for i, ckpt in enumerate(args.ckpts):
            name = args.label[i] if i < len(args.label) else str(ckpt)
            for sampler in args.samplers:
                got = judge(
                    ckpt, suite, sampler, args.scheduler_options, args.seed, args.sampler_options
                )
                print(ckpt, sampler, got, flush=True)
                rows.append(
                    f"| {name} | {sampler or 'its own'} | {got['nfe']} | {got['count']:,} | "
                    f"{got['c2st_full']:.3f} | {floor:.3f} | "
                    f"{got['accuracy']:.3f} ({real_accuracy:.3f} real) | "
                    f"{got['sampling_s']:.1f} |"
                )
    body = [
        "## Digits judged by sbibm's C2ST on all samples",
        "",
        *provenance(watch.seconds),
        *([f"- {args.note}"] if args.note else []),
        f"- Sampling seed: {args.seed}",
        *(
            [f"- Scheduler options: `{json.dumps(args.scheduler_options)}`"]
            if args.scheduler_options
            else []
        ),
        *(
            [f"- Settings merged onto each sampler: `{json.dumps(args.sampler_options)}`"]
            if args.sampler_options
            else []
        ),
        "- `c2st_full` (`metrics.full_c2st=true` in `flowdiff-eval`): one generated digit per "
        "real digit (training + held-out, same labels), pixels rounded to the 17 grey levels, "
        "sbibm's C2ST (640 x 640 MLP, no early stopping, 5-fold); floor: two random halves of "
        "the real digits. Class accuracy: `flowdiff-eval`'s `cond_accuracy` classifier (real: "
        "its accuracy on the held-out split).",
        "",
        "| checkpoint | sampler:steps | NFE | digits | C2ST full | real-vs-real floor | "
        "class accuracy | sampling s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]
    publish(args.output, args.section, "\n".join(body))


if __name__ == "__main__":
    main()
