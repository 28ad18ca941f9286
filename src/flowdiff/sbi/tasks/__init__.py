"""Simulation-based inference tasks with exact posterior samples, for tests, studies and demos.

Each task is a simulator with a prior, ``simulate(theta)`` and exact posterior draws:
:class:`LinearGaussian`, :class:`RingSimulator`, :class:`SquaresSimulator` and
:class:`HarvestedGrowth`.
"""
