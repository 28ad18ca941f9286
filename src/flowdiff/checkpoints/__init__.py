"""Checkpoints and run folders: atomic writes, safe reading, format upgrades, which weights to
load (EMA or raw), and where a run's files live."""
