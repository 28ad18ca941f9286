"""flowdiff's studies (sweeps, ablations, comparisons with peers, speed): each module writes a
dated result file, ``studies/results/<name>-<YYYY-MM-DD>.md`` (``common.result_file``).

Run one from the repository root as ``python -m studies.NAME`` (``--help`` for its options);
what the scripts share is in :mod:`studies.common`.
"""
