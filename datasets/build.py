"""Builds a zoo TFDS dataset from its manual dir, without TensorFlow (`tfds build` imports it).

    python -m soccernet_datasets.build soccernet_v2_features/ResNET_TF2_PCA512 \
        --manual_dir /path/to/SoccerNet --data_dir ~/tensorflow_datasets [--max_examples_per_split N]
    python -m soccernet_datasets.build soccernet_ball/2025 --manual_dir /path/to/ball2025 \
        [--frame_count tail]

Datasets: soccernet_v2_features/<features>, soccernet_v2_calibration/<features>,
soccernet_caption/<features> (needs Java: the captions are tokenized as the captioning metric
tokenizes them), soccernet_reid, soccernet_ball/<2023|2024|2025|v2_video|2023_720p|2024_720p|2025_720p>,
soccernet_tracking/<frames|sequences>,
soccernet_jersey/valid<P> (P % of the train tracklets held out as valid, 0..50; valid30 by default),
soccernet_calibration.

(also installed as `zoo-build-dataset`). The output is array_record, read back with
`zoo.data.tfds_sources.data_source` or `tfds.data_source`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m soccernet_datasets.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", help="name/config, e.g. soccernet_v2_features/ResNET_TF2_PCA512")
    parser.add_argument(
        "--manual_dir", required=True, help="the raw files (the SoccerNet downloader's LocalDirectory)")
    parser.add_argument(
        "--data_dir", default=os.path.join("~", "tensorflow_datasets"),
        help="TFDS data dir to write into (default ~/tensorflow_datasets)")
    parser.add_argument(
        "--max_examples_per_split", type=int, default=None,
        help="keep only the first N examples of each split (smoke builds)")
    parser.add_argument("--overwrite", action="store_true", help="rebuild if already prepared")
    parser.add_argument(
        "--frame_count", choices=("decode", "tail"), default=None,
        help="soccernet_ball only: count each video's frames by decoding all of them (decode, the "
        "default: exact, checks every timestamp) or only the last ones after a seek (tail: fast)")
    args = parser.parse_args(argv)
    if args.frame_count is not None and not args.dataset.startswith("soccernet_ball"):
        parser.error("--frame_count applies to soccernet_ball only")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from zoo.data import tfds_sources  # after argument parsing: --help stays fast

    builder = tfds_sources.prepare(
        args.dataset,
        manual_dir=os.path.expanduser(args.manual_dir),
        data_dir=os.path.expanduser(args.data_dir),
        max_examples_per_split=args.max_examples_per_split,
        overwrite=args.overwrite,
        builder_kwargs=None if args.frame_count is None else {"frame_count": args.frame_count},
    )
    for split, info in builder.info.splits.items():
        print(f"{builder.info.full_name} {split}: {info.num_examples} examples")
    print(f"written to {builder.data_dir}")


if __name__ == "__main__":
    main()
