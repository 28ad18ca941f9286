"""Which optional extra a missing module or Hydra plugin comes with, so that selecting e.g.
``hydra/launcher=slurm`` or ``model/sampler=torchdyn`` on a base install ends in one line that says
``pip install 'flowdiff[<extra>]'``."""

from __future__ import annotations

import re

from hydra.errors import HydraException

#: The optional extra (pyproject.toml) that brings each module flowdiff imports only on request.
EXTRAS = {
    "torchdyn": "torchdyn",
    "hydra_plugins.hydra_submitit_launcher": "slurm",
    "submitit": "slurm",
    "wandb": "wandb",
    "mlflow": "mlflow",
    "hydra_plugins.hydra_optuna_sweeper": "optuna",
    "optuna": "optuna",
    "torch_fidelity": "fid",
}
#: Hydra configs that only a plugin registers: what a user selected, and the extra.
PLUGIN_CONFIGS = {
    "hydra/launcher/submitit_slurm": ("hydra/launcher=slurm", "slurm"),
    "hydra/launcher/submitit_local": ("the submitit launcher", "slurm"),
    "hydra/sweeper/optuna": ("an Optuna sweep (hparams_search=...)", "optuna"),
}


def _missing_module(error: BaseException) -> str | None:
    """The module a ``ModuleNotFoundError`` in ``error``'s chain could not import, if any.

    Lightning's loggers raise it without ``name``, saying ``Requirement 'wandb>=0.12.10' not
    met``; the module is then read from the message.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ModuleNotFoundError):
            if error.name:
                return error.name
            named = re.search(r"(?:No module named|Requirement) '([A-Za-z0-9_.]+)", str(error))
            if named:
                return named.group(1)
        error = error.__cause__ or error.__context__
    return None


def missing_extra_message(error: BaseException) -> str | None:
    """``pip install 'flowdiff[<extra>]'`` for an error caused by a missing optional extra."""
    if isinstance(error, HydraException):
        missing = re.search(r"Could not (?:load|find) '([^']+)'", str(error))
        if missing and missing.group(1) in PLUGIN_CONFIGS:
            what, extra = PLUGIN_CONFIGS[missing.group(1)]
            return (
                f"{what} needs a Hydra plugin that is not installed; install the optional "
                f"extra: pip install 'flowdiff[{extra}]'."
            )
    module = _missing_module(error)
    if module is None:
        return None
    known = next((m for m in EXTRAS if module == m or module.startswith(m + ".")), None)
    if known is None:
        return None
    module, extra = known, EXTRAS[known]
    key = re.search(r"full_key: (\S+)", str(error))
    where = f" (building {key.group(1)})" if key else ""
    return (
        f"{module!r} is not installed{where}; it comes with the optional extra: "
        f"pip install 'flowdiff[{extra}]'."
    )
