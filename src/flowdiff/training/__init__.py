"""Training: build the datamodule, model and Trainer from a composed config and fit
(:func:`train`, what ``flowdiff-train`` runs), and flowdiff's Lightning callbacks."""

from flowdiff.training.train_job import build, fit, order_callbacks, train

__all__ = ["build", "fit", "order_callbacks", "train"]
