"""Hydra configs from Python: composing them, checking them before work starts, the resolvers
they use and fitting them to the machine. The command line imports this package, never the
reverse."""

from flowdiff.config.compose import compose_config

__all__ = ["compose_config"]
