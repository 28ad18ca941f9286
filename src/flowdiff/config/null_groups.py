"""Command-line overrides Hydra refuses but users type: ``<group>=null`` for a config group.

Hydra removes a config group from the defaults list with ``~logger``; ``logger=null`` (the
spelling of the Lightning + Hydra template, and the value ``null`` of every other key) is a
Hydra error for a group ("Config group override must be a string or a list"). The console
scripts read it as ``~logger``: the group is left out (``logger=null``: no logger, no logger
files, and the callbacks that need one follow, see :func:`flowdiff.training.train_job.build`).
In a sweep's list (``-m logger=null,csv``), where ``~`` cannot stand for one choice, ``null``
becomes ``[]``: no option of the group, the same as leaving it out.
"""

from __future__ import annotations

import re
from pathlib import Path

_NULL_OVERRIDE = re.compile(r"^(?P<group>[A-Za-z_][\w/]*)=null$", re.IGNORECASE)
#: a sweep's plain comma list for a key, e.g. ``logger=null,csv``
_SWEEP_LIST = re.compile(r"^(?P<group>[A-Za-z_][\w/]*)=(?P<values>[^=\[\](){}]*,[^=\[\](){}]*)$")


def null_groups_removed(args: list[str], config_root: str | Path) -> list[str]:
    """``args`` with each ``<group>=null`` of a config group (a folder of ``config_root``)
    written as Hydra's ``~<group>``; everything else unchanged and in order.

    Args:
        args: the command line after the program name.
        config_root: the folder of the Hydra configs (``configs/``).
    """
    rewritten = []
    for arg in args:
        match = _NULL_OVERRIDE.match(arg)
        if match and (Path(config_root) / match["group"]).is_dir():
            arg = "~" + match["group"]
        listed = _SWEEP_LIST.match(arg)
        if listed and (Path(config_root) / listed["group"]).is_dir():
            values = listed["values"].split(",")
            values = ["[]" if v.strip().lower() == "null" else v for v in values]
            arg = f"{listed['group']}={','.join(values)}"
        rewritten.append(arg)
    return rewritten
