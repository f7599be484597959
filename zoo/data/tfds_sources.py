"""TFDS datasets as random-access grain sources, built and read without TensorFlow.

    builder = prepare("soccernet_v2_features/ResNET_TF2_PCA512", manual_dir=..., data_dir=...)
    source = data_source("soccernet_v2_features/ResNET_TF2_PCA512", "train", data_dir=...)
    dataset = grain.MapDataset.source(source).seed(0).shuffle().map(...)

A record is a nested dict of numpy values: `Text` comes back as `bytes`, a scalar as a numpy or
Python scalar, a `Tensor` as an array, and (with `stack_sequences=True`, the default here) a
`Sequence` of scalar features as one array per field, `[n]`, with the feature's dtype even when
empty (TFDS alone returns a list of numpy scalars).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from absl import logging
from jax.experimental import multihost_utils
import tensorflow_datasets as tfds

from zoo.errors import UserError

FILE_FORMAT = "array_record"  # random access, which grain needs


def _register(name_with_config: str) -> None:
    """Imports the zoo's builder for `name`, which registers it with TFDS (if the zoo has one)."""
    name = name_with_config.split("/")[0].split(":")[0]
    try:
        importlib.import_module(f"soccernet_datasets.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"soccernet_datasets.{name}":
            raise


def prepare(
    name_with_config: str,
    *,
    manual_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    max_examples_per_split: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    builder_kwargs: Mapping[str, Any] | None = None,
) -> tfds.core.DatasetBuilder:
    """Builds a dataset from its manual dir into `data_dir` unless it is already there.

    Args:
      name_with_config: `name/config`, e.g. `soccernet_v2_features/ResNET_TF2_PCA512`.
      manual_dir: where the raw files are (for SoccerNet, the downloader's `LocalDirectory`).
      data_dir: the TFDS data dir to write into.
      max_examples_per_split: keep only the first N examples of each split (smoke builds).
      overwrite: rebuild even if the dataset is already prepared.
      progress: show TFDS's progress bars while building.
      builder_kwargs: extra arguments of the builder's constructor that change how it builds, not
        what (e.g. `{"frame_count": "tail"}` for `soccernet_ball`).

    Returns:
      The prepared builder.
    """
    _register(name_with_config)
    builder = tfds.builder(name_with_config, data_dir=os.fspath(data_dir), file_format=FILE_FORMAT,
                           **(builder_kwargs or {}))
    download_config = tfds.download.DownloadConfig(
        manual_dir=os.fspath(manual_dir),
        try_download_gcs=False,
        max_examples_per_split=max_examples_per_split,
        download_mode=(
            tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS
            if overwrite else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS),
    )
    if not builder.is_prepared() or overwrite:
        logging.info("Building %s from %s into %s (once).", name_with_config, manual_dir, data_dir)
    if not progress:
        tfds.disable_progress_bar()
    try:
        # TFDS prints "Downloading and preparing dataset Unknown size ..." for local builds too.
        with contextlib.redirect_stdout(io.StringIO()):
            builder.download_and_prepare(download_config=download_config)
    except AssertionError as error:  # TFDS's way of saying that the manual dir is missing or empty
        # Its message ends with the builder's download instructions: kept, on one line.
        instructions = " ".join(line.strip() for line in str(error).split("instructions:", 1)[-1].splitlines()
                                if line.strip())
        raise UserError(f"{name_with_config}: {manual_dir} is empty or missing. How to get the data: "
                        f"{instructions}") from None
    finally:
        if not progress:
            tfds.enable_progress_bar()
    return builder


# (dataset, data_dir, source, synthetic settings) already prepared by this process: the tasks ask
# for their data at every split they read, and building (or checking) once is enough.
_PREPARED: set[tuple] = set()


def forget_prepared() -> None:
    """Checks every dataset again at its next `prepare_once` (a new run in the same process must
    notice files edited since the last one)."""
    _PREPARED.clear()


def source_manifest(root: str, patterns: Sequence[str] | None = None) -> dict[str, list[int]]:
    """{relative path: [size, mtime_ns]} of the files under `root` that a build reads.

    patterns: glob patterns relative to root (`**` for any depth); None: every file but hidden
    ones. Cheap (one stat per file), so it is checked at every start.
    """
    rootpath = pathlib.Path(root)
    if patterns is None:
        files = (f for f in rootpath.rglob("*") if f.is_file())
    else:
        files = (f for pattern in patterns for f in rootpath.glob(pattern) if f.is_file())
    manifest = {}
    for file in files:
        relative = file.relative_to(rootpath).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        stat = file.stat()
        manifest[relative] = [stat.st_size, stat.st_mtime_ns]
    return dict(sorted(manifest.items()))


def _manifest_changes(built: dict, now: dict) -> list[str]:
    changed = [f"{name} changed" for name in built if name in now and built[name] != now[name]]
    removed = [f"{name} is gone" for name in built if name not in now]
    added = [f"{name} is new" for name in now if name not in built]
    return changed + removed + added


def _portable(root: str, data_dir: str) -> str:
    """`root` as recorded beside a dataset: relative to the data dir when both are in one run's
    workdir (the synthetic default), so a copied or moved workdir still matches; else absolute."""
    root, data_dir = os.path.abspath(root), os.path.abspath(data_dir)
    workdir = os.path.dirname(data_dir)
    if os.path.commonpath([root, workdir]) == workdir:
        return os.path.relpath(root, data_dir)
    return root


def _same_root(built: str, wanted: str, data_dir: str) -> bool:
    """Whether two recorded roots name the same data: equal as recorded (a moved workdir), or
    the same folder once resolved (a stamp written with an absolute path by an older zoo)."""
    def resolve(root):
        return os.path.normpath(os.path.join(os.path.abspath(data_dir), root))
    return built == wanted or resolve(built) == resolve(wanted)


def _stamp_path(data_dir: str, name_with_config: str) -> str:
    return os.path.join(data_dir, name_with_config.replace("/", "__") + ".source.json")


def _check_stamp(stamp: str, name_with_config: str, data_dir: str, source: dict, manifest: dict) -> None:
    """Refuses a dataset built from other data, or from sources that changed since it was built."""
    with open(stamp) as f:
        built_from = json.load(f)
    wanted = json.loads(json.dumps(source))
    if not _same_root(built_from["manual_dir"], wanted["manual_dir"], data_dir) or (
            built_from["synthetic"] is not None and wanted["synthetic"] is not None
            and built_from["synthetic"] != wanted["synthetic"]):
        raise UserError(
            f"{name_with_config} in {data_dir} was built from {built_from['manual_dir']}"
            f"{' (synthetic ' + str(built_from['synthetic']) + ')' if built_from['synthetic'] else ''}, but this "
            f"run asks for {source['manual_dir']}. Use another workdir (or config.data.data_dir), or delete "
            f"{data_dir} to rebuild.")
    if "files" not in built_from:  # built before sources were recorded
        return
    changes = _manifest_changes(built_from["files"], manifest)
    if changes:
        folder = os.path.join(data_dir, name_with_config.split("/")[0])
        raise UserError(
            f"{name_with_config} in {data_dir} was built from files that changed since: "
            f"{'; '.join(changes[:3])}{f' (and {len(changes) - 3} more)' if len(changes) > 3 else ''} "
            f"(in {source['manual_dir']}). A run never reads a stale dataset: delete {folder} and "
            f"{os.path.basename(stamp)} to rebuild it from the files as they are now (a run resumed in this "
            "workdir then continues on the new data), or use a new --workdir.")


def prepare_once(
    name_with_config: str,
    *,
    manual_dir: str,
    data_dir: str,
    synthetic_root: str,
    write_synthetic: Callable[[str], object],
    description: str,
    sources: Sequence[str] | None = None,
) -> str:
    """Builds a dataset from `manual_dir`, or from synthetic data when `manual_dir` is empty.

    The synthetic tree (same official layout) is written once into `synthetic_root` by
    `write_synthetic(root)`, and the log says that the run uses it. The build records the files
    it read (`sources`: glob patterns under the root; None for all; size and modification time
    of each): a dataset built from other data, or from files that changed since, is refused with
    the way out, never read silently. Only process 0 writes and builds; the other processes of a
    multi-host run wait for it. Later calls with the same arguments return at once. Returns
    `data_dir`.
    """
    root = manual_dir or synthetic_root
    key = (name_with_config, os.path.abspath(data_dir), os.path.abspath(root),
           repr(getattr(write_synthetic, "keywords", None)))
    if key in _PREPARED:  # every process reaches this point equally often, so syncs stay paired
        return data_dir
    source = {"manual_dir": _portable(root, data_dir),
              "synthetic": None if manual_dir else dict(getattr(write_synthetic, "keywords", {}))}
    stamp = _stamp_path(data_dir, name_with_config)
    if jax.process_index() == 0:
        if manual_dir and not os.path.isdir(manual_dir):
            raise UserError(f"config.data.manual_dir {manual_dir}: no such folder.")
        if not manual_dir:
            done = os.path.join(synthetic_root, ".complete")
            if not os.path.exists(done):
                logging.info("No data given (config.data.manual_dir is empty): writing synthetic %s "
                             "in the official layout to %s.", description, synthetic_root)
                write_synthetic(synthetic_root)
                open(done, "w").close()
            logging.log_first_n(logging.INFO, "Using SYNTHETIC %s data from %s (set "
                                "config.data.manual_dir to real data).", 1, description, synthetic_root)
        manifest = source_manifest(root, sources)
        if not manifest:
            raise UserError(f"{root}: no {description} files there"
                            + (f" (looked for {', '.join(sources)})" if sources else "") + ".")
        if os.path.exists(stamp):
            _check_stamp(stamp, name_with_config, data_dir, source, manifest)
        builder = prepare(name_with_config, manual_dir=root, data_dir=data_dir, progress=bool(manual_dir))
        if not os.path.exists(stamp):
            with open(stamp, "w") as f:
                json.dump({**source, "files": manifest}, f)
        counts = ", ".join(f"{split} {info.num_examples}" for split, info in builder.info.splits.items())
        logging.info("Dataset %s (%s) in %s, built from %d files of %s.", name_with_config, counts,
                     builder.data_dir, len(manifest), root)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(f"{name_with_config} prepared")
    _PREPARED.add(key)
    return data_dir


class _StackedSequence(tfds.decode.Decoder):
    """Decodes a `Sequence` of a plain scalar feature to one array, not a list of scalars.

    Only used for features whose per-element decoding is the identity (`ClassLabel`, `Text`,
    unencoded scalar `Tensor`/`Scalar`), so the serialized array is already the decoded one.
    """

    def decode_example(self, serialized_example):
        return self.feature.decode_example(serialized_example)

    def decode_example_np(self, serialized_example):
        return self.feature.decode_example_np(serialized_example)

    def decode_batch_example(self, serialized_example):
        return self.feature.decode_batch_example(serialized_example)

    def decode_batch_example_np(self, serialized_example):
        return np.asarray(serialized_example)


class _Encoded(tfds.decode.Decoder):
    """Returns a feature as stored (e.g. an Image's encoded bytes), without decoding it."""

    def decode_example(self, serialized_example):
        return serialized_example

    def decode_example_np(self, serialized_example):
        return serialized_example


def _is_plain_scalar(feature: tfds.features.FeatureConnector) -> bool:
    if isinstance(feature, tfds.features.Text):
        return feature.encoder is None
    if isinstance(feature, tfds.features.Tensor):  # ClassLabel and Scalar are Tensors
        return feature.shape == () and feature._encoding == tfds.features.Encoding.NONE  # noqa: SLF001
    return False


def _sequence_decoders(features: tfds.features.FeatureConnector) -> Any:
    """Decoders that stack every `Sequence` of plain scalars found in `features` (or None)."""
    if isinstance(features, tfds.features.Sequence):
        inner = features.feature
        if isinstance(inner, tfds.features.FeaturesDict):
            decoders = {k: _StackedSequence() for k, f in inner.items() if _is_plain_scalar(f)}
            return decoders or None
        return _StackedSequence() if _is_plain_scalar(inner) else None
    if isinstance(features, tfds.features.FeaturesDict):
        decoders = {k: d for k, f in features.items() if (d := _sequence_decoders(f)) is not None}
        return decoders or None
    return None


def data_source(
    name_with_config: str,
    split: str,
    *,
    data_dir: str | os.PathLike,
    manual_dir: str | os.PathLike | None = None,
    stack_sequences: bool = True,
    encoded: Sequence[str] = (),
):
    """A random-access source over one split, for `grain.MapDataset.source`.

    Reads the prepared files in `data_dir`; the builder's code is not needed (it is used, and the
    dataset built first, only when `manual_dir` is given).

    Args:
      name_with_config: `name/config`, e.g. `soccernet_v2_features/ResNET_TF2_PCA512`.
      split: a TFDS split, e.g. `train`, `valid[:10]`.
      data_dir: the TFDS data dir holding the prepared dataset.
      manual_dir: if given, build the dataset from it first when it is not prepared yet.
      stack_sequences: return each `Sequence` of scalars as one numpy array (see module doc).
      encoded: top-level features to return as stored, undecoded (e.g. `("image",)` gives the
        PNG bytes: reading labels only skips the decoding, and a loader can decode in workers).

    Returns:
      A `tfds` ArrayRecord data source: `len(source)`, `source[i]` -> nested dict of numpy values,
      `source.dataset_info` for the features and metadata.
    """
    if manual_dir is not None:
        builder = prepare(name_with_config, manual_dir=manual_dir, data_dir=data_dir)
    else:
        not_prepared = UserError(
            f"{name_with_config} is not prepared in {data_dir}; build it first "
            f"(python -m soccernet_datasets.build {name_with_config} --manual_dir ... "
            f"--data_dir {data_dir}) or pass manual_dir")
        try:
            builder = tfds.builder(name_with_config, data_dir=os.fspath(data_dir))
        except tfds.core.registered.DatasetNotFoundError as e:
            raise not_prepared from e
        if not builder.is_prepared():
            raise not_prepared
    base_split = split.split("[")[0].split("+")[0]
    if base_split not in builder.info.splits:
        raise UserError(
            f"{name_with_config} in {data_dir} has no split {base_split!r} (it has "
            f"{sorted(builder.info.splits)}): its games were not in the manual dir when the dataset "
            f"was built. Download them, then rebuild with --overwrite.")
    decoders = (_sequence_decoders(builder.info.features) if stack_sequences else None) or {}
    for name in encoded:
        if name not in builder.info.features:
            raise ValueError(f"{name_with_config} has no feature {name!r} to keep encoded.")
        decoders[name] = _Encoded()
    return builder.as_data_source(split=split, decoders=decoders or None)
