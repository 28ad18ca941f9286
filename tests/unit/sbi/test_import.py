"""`import flowdiff.sbi` stays light: diffusers, scikit-learn and matplotlib are imported only
where they are used (a diffusion path, C2ST, figures)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("diffusers", "sklearn", "matplotlib")


def imported_after(code: str) -> list[str]:
    check = f"import sys; {code}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    return [name for name in out.stdout.strip().split(",") if name]


def test_import_flowdiff_sbi_imports_no_heavy_library():
    assert imported_after("import flowdiff.sbi") == []


def test_the_posterior_classes_import_neither_diffusers_nor_sklearn():
    # matplotlib arrives with Lightning (torchmetrics imports it when installed)
    found = imported_after("from flowdiff.sbi import Posterior, PosteriorEstimator")
    assert "diffusers" not in found and "sklearn" not in found
