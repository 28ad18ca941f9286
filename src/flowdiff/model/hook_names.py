"""Lightning's per-hook bookkeeping on the module, without torch's ``Module.__setattr__``."""

from __future__ import annotations

from typing import Any

#: The attribute Lightning sets on the LightningModule before and after each hook it calls
#: (module hooks and every callback's), so that ``self.log`` knows where it is called from.
HOOK_NAME = "_current_fx_name"


class HookNameMixin:
    """Stores Lightning's ``_current_fx_name`` as a plain attribute.

    Lightning's loops set ``module._current_fx_name`` twice around each hook they call, about
    fifty times per training step with flowdiff's callbacks. torch's ``Module.__setattr__``
    checks every value against ``Parameter``, ``Module`` and ``Buffer`` and looks the name up in
    the parameter, submodule and buffer tables first: about 3 microseconds each, 2% of the step
    of the small posterior MLP on a CPU (``studies/overhead.py``). The hook name is a string (or
    ``None``) that none of those tables holds, so the outcome is the same as storing it directly,
    which this does; every other attribute goes through torch as before.

    Put it before ``LightningModule`` in the bases.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == HOOK_NAME and (value is None or isinstance(value, str)):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)
