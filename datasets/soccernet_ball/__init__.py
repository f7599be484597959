"""soccernet_ball: ball action spotting videos (2023, 2024, 2025) and SoccerNet-v2 videos, indexed for clip reading (TFDS)."""

from soccernet_datasets.soccernet_ball.soccernet_ball_dataset_builder import (
    CONFIGS,
    BallConfig,
    Builder,
    GameFileError,
)

__all__ = ["CONFIGS", "BallConfig", "Builder", "GameFileError"]
