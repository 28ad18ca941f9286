"""Sample quality against network calls on toy 2-D data, flow matching against diffusion.

Trains three models on the same toy data with ``flowdiff-train`` (flow matching with independent
pairing, flow matching with minibatch-OT pairing, DDPM), then sweeps each over its family's
samplers with one ``flowdiff-eval`` call (``sweep=true``: the settings under ``sweeps`` in
``configs/eval.yaml``) and reports the comparison table (W2, sliced W2, energy, MMD against the
held-out split, with the real-vs-real floor) and, per model, the fewest network calls whose W2 is
within 5% of its best.

    python -m studies.quality_vs_nfe                  # ~15 min on one shared core
    python -m studies.quality_vs_nfe --tiny --output /tmp/q.md
"""

from __future__ import annotations

import csv
import shutil

from studies.common import (
    arguments,
    console_command,
    provenance,
    publish,
    run_cli,
    run_training,
)

#: name -> the overrides that make the model (on top of the data and size overrides)
MODELS = {
    "flow_matching": ["coupling=independent"],
    "flow_matching_ot": ["coupling=ot"],
    "diffusion": ["model=diffusion", "model.path.timestep_spacing=leading"],
}
MARGIN = 0.05


def data_overrides(dataset: str, tiny: bool) -> list[str]:
    """The data, network and length of every training run."""
    size = ["max_epochs=1", "data.num_samples=2000", "model.network.hidden=32"]
    size += ["trainer.limit_train_batches=4", "trainer.limit_val_batches=1"]
    if not tiny:
        size = ["max_epochs=40", "data.num_samples=20000", "model.network.hidden=256"]
    return ["experiment=toy2d", f"data.name={dataset}", "seed=0", "base_lr=1e-3", *size]


def fewest_within(rows: list[dict[str, str]], margin: float = MARGIN) -> list[str]:
    """Per run: its best W2 and the fewest-NFE setting within ``margin`` of it."""
    lines = []
    for run in dict.fromkeys(row["run"] for row in rows):
        mine = [r for r in rows if r["run"] == run and r.get("w2") not in (None, "", "nan")]
        if not mine:
            continue
        best = min(mine, key=lambda r: float(r["w2"]))
        close = [r for r in mine if float(r["w2"]) <= (1 + margin) * float(best["w2"])]
        cheap = min(close, key=lambda r: float(r["nfe"]))
        lines.append(
            f"- **{run}**: best W2 {float(best['w2']):.3f} ({best['kind']} x {best['steps']}, "
            f"NFE {best['nfe']}); fewest NFE within {margin:.0%}: {cheap['kind']} x "
            f"{cheap['steps']} (NFE {cheap['nfe']}, W2 {float(cheap['w2']):.3f})"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    tiny = "4 steps, 2 settings, 200 samples"
    parser = arguments(__doc__, work="bench_quality_vs_nfe", tiny=tiny)
    parser.add_argument("--dataset", default="8gaussians")
    args = parser.parse_args(argv)
    ckpts, seconds = [], {}
    for name, overrides in MODELS.items():
        run = [*data_overrides(args.dataset, args.tiny), *overrides]
        ckpt, seconds[name] = run_training("train", run, args.work / name, reuse=not args.tiny)
        ckpts.append(str(ckpt))
    folder = args.work / "eval"
    shutil.rmtree(folder, ignore_errors=True)
    samples = 200 if args.tiny else 2000
    run_cli(
        console_command(
            "flowdiff-eval",
            [
                f"ckpt_paths=[{','.join(ckpts)}]",
                f"names=[{','.join(MODELS)}]",
                "sweep=[{steps:2},{steps:4}]" if args.tiny else "sweep=true",
                f"num_samples={samples}",
                f"output_dir={folder}",
                "tensorboard=false",
                "nll.enabled=false",
            ],
        )
    )
    with open(folder / "comparison_sweep.csv") as handle:
        rows = list(csv.DictReader(handle))
    with open(folder / "comparison.csv") as handle:
        floor = next(r for r in csv.DictReader(handle) if r["kind"] == "real vs real")
    figure = args.output.with_suffix(".png")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "comparison_sweep.png", figure)
    trained = ", ".join(f"{name} {s:.0f} s" for name, s in seconds.items())
    body = [
        "## Sample quality vs NFE on toy 2-D data",
        "",
        *provenance(),
        f"- Training (`flowdiff-train {' '.join(data_overrides(args.dataset, args.tiny))}` "
        f"plus each model's overrides: {MODELS}): {trained}",
        f"- Sweep: one `flowdiff-eval` over the three (`sweep=true`: configs/eval.yaml's "
        f"settings; `--tiny`: 2 and 4 steps of each model's sampler), {samples} samples each",
        "",
        *fewest_within(rows),
        f"- Real vs real (the floor at this sample size): W2 {float(floor['w2']):.3f}, "
        f"sliced W2 {float(floor['sliced_w2']):.3f}",
        "",
        (folder / "comparison_sweep.md").read_text().strip(),
        "",
        f"![quality against NFE]({figure.name})",
    ]
    publish(args.output, "quality_vs_nfe", "\n".join(body))


if __name__ == "__main__":
    main()
