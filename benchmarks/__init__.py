"""flowdiff's benchmarks: each module writes its own section of ``docs/benchmarks.md``.

Run one from the repository root as ``python -m benchmarks.NAME`` (``--help`` for its options);
what the scripts share is in :mod:`benchmarks.common`.
"""
