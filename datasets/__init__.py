"""TFDS builders for the SoccerNet datasets, one sub-package per dataset (imported as `soccernet_datasets`)."""
