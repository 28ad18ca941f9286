"""Learning-rate schedules."""

from flowdiff.optim.schedules import constant, cosine

__all__ = ["constant", "cosine"]
