"""The PCA from 2048-d ResNet features to the official 512-d `ResNET_TF2_PCA512`, as plain arrays.

The official reduction (REFERENCE.md §1.2) subtracts the average of the features
(`average_512_TF2.pkl`, a pickled numpy array), then applies a fitted scikit-learn PCA
(`pca_512_TF2.pkl`): `pca.transform(features - average)`. Those pickles need scikit-learn (of a
compatible version) and arbitrary unpickling to load; here they are converted once into a plain
`.npz` of arrays, read by a restricted unpickler that only rebuilds numpy arrays and the PCA's
attribute dict (nothing is imported or executed). Without the published files, `fit` computes the
same kind of PCA from your own 2048-d features.

    python -m zoo.features.pca convert --pca pca_512_TF2.pkl --average average_512_TF2.pkl --out pca_512_TF2.npz
    python -m zoo.features.pca fit --features 'SoccerNet/**/?_ResNET_TF2.npy' --out my_pca_512.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import io
import os
import pickle
import sys
from collections.abc import Iterable, Sequence

import numpy as np

from zoo.errors import UserError
from zoo.formats.errors import FileFormatError

OFFICIAL_DIM = 512


class PcaFileError(FileFormatError):
    """A PCA file (the published pickles or a converted `.npz`) that cannot be used."""


@dataclasses.dataclass(frozen=True)
class FeaturePca:
    """`transform(x) = ((x - average) - mean) @ components.T`, divided by sqrt(explained_variance) if whiten.

    average: [D] subtracted first (`average_512_TF2.pkl`); mean: [D] the PCA's own `mean_` (about
    zero, as it was fitted on centred features); components: [k, D]; explained_variance: [k].
    """

    average: np.ndarray
    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    whiten: bool = False

    @property
    def input_dim(self) -> int:
        return self.components.shape[1]

    @property
    def output_dim(self) -> int:
        return self.components.shape[0]

    def transform(self, features: np.ndarray) -> np.ndarray:
        """[n, D] -> float32 [n, k], computed in float64 like scikit-learn on float64 input."""
        features = np.asarray(features, np.float64)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ValueError(f"PCA input must be [n, {self.input_dim}], got {list(features.shape)}")
        reduced = (features - self.average - self.mean) @ self.components.T
        if self.whiten:
            reduced /= np.sqrt(self.explained_variance)
        return reduced.astype(np.float32)

    def save(self, path: str | os.PathLike) -> None:
        np.savez(path, average=self.average, mean=self.mean, components=self.components,
                 explained_variance=self.explained_variance, whiten=np.asarray(self.whiten))


def load_pca(path: str | os.PathLike) -> FeaturePca:
    """A `.npz` written by `FeaturePca.save` (`convert` or `fit`)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise PcaFileError(path, "no such PCA file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    except (OSError, ValueError) as error:
        raise PcaFileError(path, f"not a PCA .npz ({error}); convert the published pickles with "
                           "`python -m zoo.features.pca convert`") from error
    missing = {"average", "mean", "components", "explained_variance"} - set(arrays)
    if missing:
        raise PcaFileError(path, f"missing array(s) {', '.join(sorted(missing))}")
    pca = FeaturePca(
        average=arrays["average"].astype(np.float64).reshape(-1), mean=arrays["mean"].astype(np.float64).reshape(-1),
        components=arrays["components"].astype(np.float64),
        explained_variance=arrays["explained_variance"].astype(np.float64),
        whiten=bool(arrays.get("whiten", False)))
    _check_shapes(path, pca)
    return pca


def _check_shapes(path: str, pca: FeaturePca) -> None:
    k, d = pca.components.shape if pca.components.ndim == 2 else (None, None)
    if d is None or pca.average.shape != (d,) or pca.mean.shape != (d,) or pca.explained_variance.shape != (k,):
        raise PcaFileError(path, f"inconsistent shapes: average {pca.average.shape}, mean {pca.mean.shape}, "
                           f"components {pca.components.shape}, explained_variance {pca.explained_variance.shape}")


# ----------------------------------------------------------------------------- the published pickles


class _Estimator:
    """Stands in for a pickled scikit-learn PCA / IncrementalPCA: keeps its attribute dict."""

    def __setstate__(self, state):
        self.state = state


# numpy's array (and scalar) reconstruction, under the module names of numpy 1 and 2.
_NUMPY_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype")}
_SKLEARN_PCA = {"PCA", "IncrementalPCA"}


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and scikit-learn PCA attribute dicts; refuses anything else."""

    def find_class(self, module: str, name: str):
        import copyreg
        import importlib

        if (module, name) in _NUMPY_GLOBALS:  # a fixed list of numpy's own functions
            return getattr(importlib.import_module(module), name)
        if (module, name) == ("copyreg", "_reconstructor"):
            return copyreg._reconstructor
        if (module, name) == ("builtins", "object"):
            return object
        if module.startswith("sklearn.decomposition") and name in _SKLEARN_PCA:
            return _Estimator
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays and a "
                                     "scikit-learn PCA are expected)")


def _unpickle(path: str):
    if not os.path.isfile(path):
        raise PcaFileError(path, "no such file")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as error:
        raise PcaFileError(path, f"cannot be read as the published pickle ({error})") from error


def convert_published(pca_pkl: str | os.PathLike, average_pkl: str | os.PathLike) -> FeaturePca:
    """The published `pca_512_TF2.pkl` and `average_512_TF2.pkl` as a FeaturePca (no scikit-learn)."""
    pca_pkl, average_pkl = os.fspath(pca_pkl), os.fspath(average_pkl)
    estimator = _unpickle(pca_pkl)
    if not isinstance(estimator, _Estimator):
        raise PcaFileError(pca_pkl, f"holds a {type(estimator).__name__}, not a scikit-learn PCA")
    state = estimator.state
    missing = {"components_", "mean_", "explained_variance_"} - set(state)
    if missing:
        raise PcaFileError(pca_pkl, f"the PCA has no {', '.join(sorted(missing))} (was it fitted?)")
    average = _unpickle(average_pkl)
    if not isinstance(average, np.ndarray):
        raise PcaFileError(average_pkl, f"holds a {type(average).__name__}, not a numpy array")
    pca = FeaturePca(
        average=np.asarray(average, np.float64).reshape(-1), mean=np.asarray(state["mean_"], np.float64),
        components=np.asarray(state["components_"], np.float64),
        explained_variance=np.asarray(state["explained_variance_"], np.float64),
        whiten=bool(state.get("whiten", False)))
    _check_shapes(pca_pkl, pca)
    return pca


# ----------------------------------------------------------------------------- fitting


def _svd_flip_rows(components: np.ndarray) -> np.ndarray:
    """scikit-learn's sign convention for PCA (`svd_flip(u_based_decision=False)`): in every
    component, the entry of largest magnitude is positive."""
    signs = np.sign(components[np.arange(len(components)), np.argmax(np.abs(components), axis=1)])
    return components * np.where(signs == 0, 1.0, signs)[:, None]


def fit_pca(feature_arrays: Iterable[np.ndarray], dim: int = OFFICIAL_DIM) -> FeaturePca:
    """A PCA of the rows of all arrays, as the official one was made (average off, then a full PCA).

    Streams: two passes over the arrays (the sum, then the scatter matrix, in float64), so the
    2048 x 2048 scatter is all that is held, whatever the number of halves. The components are
    the eigenvectors of the covariance, which are scikit-learn's `PCA(svd_solver="full")`
    components up to rounding, with its sign convention; `explained_variance` = eigenvalues.

    feature_arrays: a re-iterable collection of [n_i, D] arrays (e.g. a list, or a sequence that
      loads `.npy` files lazily).
    """
    total, count, dims = None, 0, None
    for features in feature_arrays:
        features = np.asarray(features, np.float64)
        if features.ndim != 2 or (dims is not None and features.shape[1] != dims):
            raise ValueError(f"feature arrays must all be [n, {dims or 'D'}], got {list(features.shape)}")
        dims = features.shape[1]
        total = features.sum(0) if total is None else total + features.sum(0)
        count += len(features)
    if dims is None or count < 2:
        raise ValueError(f"fitting a PCA needs at least 2 feature rows, got {count}")
    if not 0 < dim <= min(dims, count):
        raise ValueError(f"cannot keep {dim} components of {count} rows of {dims} features")
    average = total / count
    scatter = np.zeros((dims, dims), np.float64)
    for features in feature_arrays:
        centred = np.asarray(features, np.float64) - average
        scatter += centred.T @ centred
    eigenvalues, eigenvectors = np.linalg.eigh(scatter / (count - 1))
    order = np.argsort(eigenvalues)[::-1][:dim]
    components = _svd_flip_rows(eigenvectors[:, order].T)
    return FeaturePca(average=average, mean=np.zeros(dims), components=components,
                      explained_variance=np.maximum(eigenvalues[order], 0.0))


class _NpyFiles(Sequence):
    """The arrays of `.npy` files, loaded one at a time as they are iterated."""

    def __init__(self, paths: Sequence[str]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        path = self.paths[index]
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise FileFormatError(path, f"not a .npy feature file ({error})") from error


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.features.pca", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="the published pickles -> a .npz of plain arrays")
    convert.add_argument("--pca", required=True, help="pca_512_TF2.pkl")
    convert.add_argument("--average", required=True, help="average_512_TF2.pkl")
    convert.add_argument("--out", required=True, help="the .npz to write")
    fit = commands.add_parser("fit", help="fit a PCA on your own 2048-d features")
    fit.add_argument("--features", required=True, nargs="+",
                     help="feature .npy files [frames, 2048], or glob patterns ('**' recurses)")
    fit.add_argument("--dim", type=int, default=OFFICIAL_DIM, help="components to keep")
    fit.add_argument("--out", required=True, help="the .npz to write")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            pca = convert_published(args.pca, args.average)
        else:
            paths = sorted({p for pattern in args.features for p in (glob.glob(pattern, recursive=True) or [pattern])})
            missing = [p for p in paths if not os.path.isfile(p)]
            if missing:
                raise UserError(f"{missing[0]}: no such feature file")
            pca = fit_pca(_NpyFiles(paths), dim=args.dim)
        pca.save(args.out)
    except (UserError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"PCA {pca.input_dim} -> {pca.output_dim} written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
