"""soccernet_jersey: SoccerNet jersey-number tracklets, one example per crop (TFDS)."""

from soccernet_datasets.soccernet_jersey.soccernet_jersey_dataset_builder import Builder

__all__ = ["Builder"]
