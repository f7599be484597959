"""A JAX model zoo for SoccerNet: models, training, evaluation and submission files for every task."""

__version__ = "0.1.0"
