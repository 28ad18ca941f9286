"""flowdiff's benchmarks: each module writes its own section of ``docs/benchmarks.md``.

Run one from the repository root as ``python -m studies.NAME`` (``--help`` for its options);
what the scripts share is in :mod:`studies.common`.
"""
