"""The `soccernet_tracking` dataset for the tasks that read it (detector and tracking pipeline).

`config.data` names the official tree (`manual_dir`, the unzipped `tracking` folder) or, empty, a
synthetic tree written once into the workdir (`config.data.synthetic.*`, see
`zoo.synthetic.tracking`); both are built into TFDS (`soccernet_tracking/frames` and
`/sequences`) in `config.data.data_dir` (default `<workdir>/tfds`).
"""

from __future__ import annotations

import functools
import os

import ml_collections

from zoo.data import tfds_sources
from zoo.synthetic import tracking as synthetic

DATASET = "soccernet_tracking"
# The files each view is built from (a rebuilt or refused dataset when they change): the sequences
# view reads the text files; the frames view also stores the JPEG bytes.
_TEXT_FILES = tuple(f"*/SNMOT-*/{name}" for name in ("seqinfo.ini", "gameinfo.ini", "gt/gt.txt", "det/det.txt"))
SOURCES = {"sequences": _TEXT_FILES, "frames": (*_TEXT_FILES, "*/SNMOT-*/img1/*.jpg")}


def synthetic_root(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), "synthetic_soccernet_tracking")


def data_root(config: ml_collections.ConfigDict, workdir: str) -> str:
    """The official tree the dataset is built from (frames are read from it while tracking)."""
    return config.data.manual_dir or synthetic_root(workdir)


def source(config: ml_collections.ConfigDict, workdir: str, view: str, split: str, **kwargs):
    """`soccernet_tracking/<view>` ("frames" or "sequences"), split `split`, built once if needed."""
    synth = config.data.synthetic
    data_dir = tfds_sources.prepare_once(
        f"{DATASET}/{view}",
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(os.path.abspath(workdir), "tfds"),
        synthetic_root=synthetic_root(workdir),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_tracking, sequences_per_split=synth.sequences_per_split.to_dict(),
            frames=synth.frames, width=synth.width, height=synth.height, seed=synth.seed),
        description="SoccerNet tracking",
        sources=SOURCES[view],
    )
    return tfds_sources.data_source(f"{DATASET}/{view}", split, data_dir=data_dir, **kwargs)
