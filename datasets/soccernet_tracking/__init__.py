"""soccernet_tracking: SoccerNet multiple object tracking (SNMOT) frames and sequences (TFDS)."""

from soccernet_datasets.soccernet_tracking.soccernet_tracking_dataset_builder import (
    Builder,
    SequenceFileError,
    read_sequence,
)

__all__ = ["Builder", "SequenceFileError", "read_sequence"]
