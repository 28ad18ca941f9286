"""Copy a ``flowdiff-eval`` output folder's tables and chosen figures into a section of
``docs/evaluation.md`` (figures under ``docs/evaluation/``), with the command that made it.

    python -m studies.eval_report OUTPUT_DIR --section toy2d_sweep --title "..." \\
        --command "flowdiff-eval ..." --figures sweep density [--output docs/evaluation.md]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from studies.common import write_section

#: Tables shown, in this order, when the folder has them.
TABLES = ("comparison.md", "metrics.md", "sweep.md", "comparison_sweep.md")


def section_body(folder: Path, args: argparse.Namespace, images: Path) -> str:
    lines = [f"## {args.title}", "", f"Command: `{args.command}`", ""]
    lines += [f"{note}" for note in args.note] + ([""] if args.note else [])
    for table in TABLES:
        if (folder / table).is_file():
            lines += [f"`{table}`:", "", (folder / table).read_text().strip(), ""]
    for name in args.figures:
        source = folder / f"{name}.png"
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing; run the command first.")
        target = images / f"{args.section}_{name.replace('/', '_')}.png"
        shutil.copyfile(source, target)
        lines += [f"![{name}]({images.name}/{target.name})", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--section", required=True)
    parser.add_argument("--title", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--figures", nargs="*", default=[])
    parser.add_argument("--note", action="append", default=[])
    parser.add_argument("--output", type=Path, default=Path("docs/evaluation.md"))
    args = parser.parse_args()
    images = args.output.parent / "evaluation"
    images.mkdir(parents=True, exist_ok=True)
    write_section(args.output, args.section, section_body(args.folder, args, images))


if __name__ == "__main__":
    main()
