"""`python -m zoo.convert`: a PyTorch checkpoint -> an orbax checkpoint for `init_from`.

    python -m zoo.convert --arch resnet50 --input resnet50-0676ba61.pth --output weights/resnet50
    python -m zoo.convert --arch osnet_ain --input osnet_ain_x1_0_imagenet.pth --output weights/osnet_ain
    python -m zoo.convert --arch regnety_002 --input model.safetensors --output weights/regnety_002
    python -m zoo.convert --arch resnet34 --input resnet34-b627a593.pth --output weights/resnet34
    python -m zoo.convert --arch parseq_digits --input parseq-bb5792a6.pt --output weights/parseq_digits
    python -m zoo.convert --arch simplebaseline_resnet50 --input pose_resnet_50_256x192.pth.tar --output weights/pose_r50
    python -m zoo.convert --arch yolox_x --input bytetrack_x_mot20.pth.tar --output weights/bytetrack_x_mot20
    python -m zoo.convert --arch keras_resnet152 --input resnet152_weights_tf_dim_ordering_tf_kernels.h5 \
        --output weights/keras_resnet152
    python -m zoo.convert --arch pnlcalib --input SV_kp --lines-input SV_lines --output weights/pnlcalib
    python -m zoo.convert --arch hrnet_w48 --input hrnet_w48.safetensors --output weights/hrnet_w48
    python -m zoo.convert --arch calf --input model.pth.tar --output weights/calf \
        --config configs/action_spotting/calf.py:baseline
    python train.py --config configs/reid/<model>.py --workdir runs/x --config.init_from=weights/resnet50

The output folder holds `state`, an orbax PyTree {"params": {"backbone": ...}, "model_state":
{"batch_stats": {"backbone": ...}}} in the module names of `ReidModel` (ResNet-50, OSNet-AIN) or
of `E2ESpot` / `TDEED` (timm RegNetY: only the backbone; the temporal shifts, temporal model and
heads stay freshly initialised), or of `PitchHeatmapNet` (the published calibration HRNets, or
timm's ImageNet HRNet for both backbones), or of the jersey stages: `resnet18` / `resnet34` (a torchvision
trunk as `backbone`, for the legibility classifier), `legibility_resnet34` (Koshkina & Elder's
classifier, trunk and fc), `parseq` (the published PARSeq-S, 94 characters) and `parseq_digits`
(its digit rows and 2 positions, for configs/jersey/parseq.py), `simplebaseline_<resnet>` and
`vitpose_<size>` (`HeatmapPose`); or, from a Keras `.h5` ImageNet weights file, the `KerasResNet`
of the official SoccerNet ResNet-TF2 features (`zoo.features`). `zoo.train.checkpoint.load_params`
reads it as one step directory. Every checkpoint key is either converted or reported as dropped; a
key the converter does not know is an error. Inputs are `.pth` / `.pth.tar` / `.bin` (torch.load) or `.safetensors`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from zoo.convert.keras_resnet import convert_keras_resnet
from zoo.convert.timm_regnet import convert_regnet
from zoo.convert.torch_hrnet import convert_published, convert_timm_hrnet
from zoo.convert.torch_osnet import convert_osnet_ain
from zoo.convert.torch_parseq import convert_parseq
from zoo.convert.torch_pose import convert_pose
from zoo.convert.torch_resnet import Conversion, convert_resnet, convert_resnet50, convert_resnet_classifier
from zoo.convert.yolox import ARCHS as YOLOX_ARCHS
from zoo.convert.yolox import convert_yolox
from zoo.errors import UserError
from zoo.models.parseq import DIGITS, PARSeq
from zoo.models.pose import VITPOSE
from zoo.models.regnet import REGNETY
from zoo.models.reid_head import OSNET_AIN_CHANNELS

# Calibration: the published keypoint (+ line) HRNets, or timm's ImageNet HRNet backbones.
HRNET_ARCHS = ("pnlcalib", "hrnet_w18", "hrnet_w32", "hrnet_w48", "hrnet_w64")
JERSEY_ARCHS = ("resnet18", "resnet34", "legibility_resnet34", "parseq", "parseq_digits",
                *(f"simplebaseline_resnet{d}" for d in (18, 34, 50, 101)),
                *(f"vitpose_{size.removeprefix('vit_')}" for size in VITPOSE))
KERAS_ARCHS = ("keras_resnet50", "keras_resnet101", "keras_resnet152")  # from Keras .h5 files
CONFIGURED_ARCHS = ("calf",)  # shapes set by a zoo config (--config): classes, chunk, context
ARCHS = ("resnet50", "osnet_ain", *OSNET_AIN_CHANNELS, *REGNETY, *JERSEY_ARCHS, *YOLOX_ARCHS,
         *HRNET_ARCHS, *KERAS_ARCHS, *CONFIGURED_ARCHS)
# safetensors dtype names -> numpy; BF16 is widened to float32 by hand (numpy has no bfloat16).
SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_, "BF16": np.uint16,
}


def load_torch_checkpoint(path: str) -> Any:
    """torch.load on CPU with weights_only=True (no arbitrary unpickling)."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "Reading PyTorch checkpoints needs PyTorch: pip install '.[torch]' "
            "(or pip install torch)."
        ) from error
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at {path!r}.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"{path}: torch.load(weights_only=True) failed: {error}. Only state dicts of tensors "
            "(possibly inside a torchreid checkpoint dict) are read."
        ) from error


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """The tensors of a `.safetensors` file (as timm's hub weights come) as numpy arrays.

    The format: an 8-byte little-endian header size, a JSON header {name: {"dtype", "shape",
    "data_offsets": [begin, end]}} (and "__metadata__"), then the raw little-endian data.
    Read without the safetensors package.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at {path!r}.")
    with open(path, "rb") as f:
        data = f.read()
    try:
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size]) if 8 + size <= len(data) else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors file (no JSON header after the 8-byte size).")
    body = data[8 + size :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end = entry["data_offsets"]
            little_endian = np.dtype(SAFETENSORS_DTYPES[entry["dtype"]]).newbyteorder("<")
            array = np.frombuffer(body[begin:end], dtype=little_endian).reshape(entry["shape"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: tensor {name!r} is unreadable ({error!r}).") from error
        if entry["dtype"] == "BF16":  # the high half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array.astype(array.dtype.newbyteorder("="))
    return tensors


def load_checkpoint(path: str) -> Any:
    """A `.safetensors` file with read_safetensors, anything else with load_torch_checkpoint."""
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return load_torch_checkpoint(path)


def convert(arch: str, checkpoint: Any, *, num_classes: int | None = None,
            lines_checkpoint: Any = None) -> Conversion:
    """Dispatches to the converter of `arch` (one of ARCHS)."""
    if arch in HRNET_ARCHS:
        if num_classes is not None:
            raise ValueError(f"--num-classes does not apply to {arch}.")
        if arch == "pnlcalib":
            return convert_published(checkpoint, lines_checkpoint)
        if lines_checkpoint is not None:
            raise ValueError("--lines-input applies to --arch pnlcalib only.")
        conversion = convert_timm_hrnet(checkpoint)
        width = conversion.variables["params"]["keypoints"]["stage2_0"]["branches_0_0"]["conv1"]["kernel"].shape[-1]
        if f"hrnet_w{width}" != arch:
            raise ValueError(f"The checkpoint is an HRNet-W{width}, not {arch}.")
        return conversion
    if arch in REGNETY:
        if num_classes is not None:
            raise ValueError(f"--num-classes does not apply to {arch}: its ImageNet classifier is always dropped.")
        return convert_regnet(checkpoint, arch=arch)
    if arch in JERSEY_ARCHS:
        if num_classes is not None:
            raise ValueError(f"--num-classes does not apply to {arch}.")
        return convert_jersey(arch, checkpoint)
    if arch in YOLOX_ARCHS:
        if num_classes is not None:
            raise ValueError(f"--num-classes does not apply to {arch}: its classes are read from the checkpoint.")
        return convert_yolox(checkpoint, arch=arch)
    if arch == "resnet50":
        return convert_resnet50(checkpoint, num_classes=num_classes)
    if arch in ARCHS:
        return convert_osnet_ain(checkpoint, width=arch, num_classes=num_classes)
    raise ValueError(f"Unknown --arch {arch!r}; expected one of {', '.join(ARCHS)}.")


def convert_jersey(arch: str, checkpoint: Any) -> Conversion:
    """The jersey stages' published weights (see the module docstring)."""
    if arch in ("resnet18", "resnet34"):
        return convert_resnet(checkpoint, depth=arch)
    if arch == "legibility_resnet34":
        return convert_resnet_classifier(checkpoint, depth="resnet34", num_outputs=1)
    if arch == "parseq":
        return convert_parseq(checkpoint)
    if arch == "parseq_digits":
        return convert_parseq(checkpoint, model=PARSeq(charset=DIGITS, max_label_length=2))
    backbone = arch.removeprefix("simplebaseline_") if arch.startswith("simplebaseline_") else (
        "vit_" + arch.removeprefix("vitpose_"))
    return convert_pose(checkpoint, backbone=backbone)[0]


def checkpoint_tree(conversion: Conversion) -> dict[str, Any]:
    """The train-state subset that `load_params` reads: params and model_state."""
    as_arrays = lambda tree: jax.tree.map(jnp.asarray, tree)  # noqa: E731
    return {
        "params": as_arrays(conversion.variables["params"]),
        "model_state": {"batch_stats": as_arrays(conversion.variables["batch_stats"])}
        if conversion.variables.get("batch_stats") else {},
    }


def write_checkpoint(conversion: Conversion, output: str) -> str:
    """Saves `output/state`; refuses to overwrite. Returns the state directory."""
    state_dir = os.path.join(os.path.abspath(output), "state")
    if os.path.exists(state_dir):
        raise FileExistsError(f"{state_dir} already exists; remove it or choose another --output.")
    os.makedirs(os.path.dirname(state_dir), exist_ok=True)
    with ocp.PyTreeCheckpointer() as checkpointer:
        checkpointer.save(state_dir, args=ocp.args.PyTreeSave(checkpoint_tree(conversion)))
    return state_dir


def convert_calf_file(input_path: str, config_spec: str | None) -> Conversion:
    """An official CALF / CALF-calibration checkpoint for the network of a zoo CALF config."""
    from zoo.cli import load_config
    from zoo.convert.torch_calf import convert_calf
    from zoo.tasks import action_spotting_calf

    if not config_spec:
        raise ValueError("--arch calf needs --config FILE[:variant], the CALF config the weights are for "
                         "(e.g. configs/action_spotting/calf.py:baseline): it sets the classes, chunk size, "
                         "width and calibration branch.")
    config = load_config(config_spec)
    if config.get("model", {}).get("name") != "calf":
        raise ValueError(f"--config {config_spec} is not a CALF config (model.name is "
                         f"{config.get('model', {}).get('name')!r}).")
    model = action_spotting_calf.make_model(config)
    return convert_calf(load_checkpoint(input_path), model, action_spotting_calf.example_inputs(config))


def convert_file(arch: str, input_path: str, output: str, *, num_classes: int | None = None,
                 lines_path: str | None = None, config_spec: str | None = None) -> Conversion:
    """Reads `input_path` (and `lines_path`), converts it for `arch`, writes `output/state`."""
    if config_spec and arch not in CONFIGURED_ARCHS:
        raise ValueError(f"--config applies to --arch {', '.join(CONFIGURED_ARCHS)} only.")
    if arch in CONFIGURED_ARCHS:
        if num_classes is not None or lines_path:
            raise ValueError(f"--num-classes and --lines-input do not apply to {arch}: its config sets its shapes.")
        conversion = convert_calf_file(input_path, config_spec)
        write_checkpoint(conversion, output)
        return conversion
    if arch in KERAS_ARCHS:
        if num_classes is not None or lines_path:
            raise ValueError(f"--num-classes and --lines-input do not apply to {arch}: its ImageNet "
                             "classifier is always dropped.")
        conversion = convert_keras_resnet(input_path, arch=arch.removeprefix("keras_"))
        write_checkpoint(conversion, output)
        return conversion
    lines = load_checkpoint(lines_path) if lines_path else None
    conversion = convert(arch, load_checkpoint(input_path), num_classes=num_classes,
                         lines_checkpoint=lines)
    write_checkpoint(conversion, output)
    return conversion


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", required=True, choices=ARCHS, help="the network the weights are for")
    parser.add_argument("--input", required=True,
                        help="a .pth / .pth.tar / .bin PyTorch checkpoint, a .safetensors file, or a Keras .h5 file")
    parser.add_argument("--output", required=True, help="folder to write; it gets a `state` subfolder")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="keep the identity classifier if it has this many classes (ReID only)")
    parser.add_argument("--lines-input", default=None,
                        help="pnlcalib: the line network's checkpoint (--input is the keypoint one)")
    parser.add_argument("--config", default=None,
                        help="calf: the zoo config (FILE[:variant]) of the network the weights are for")
    args = parser.parse_args(argv)
    try:
        conversion = convert_file(args.arch, args.input, args.output, num_classes=args.num_classes,
                                  lines_path=args.lines_input, config_spec=args.config)
    except (ImportError, FileNotFoundError, FileExistsError, ValueError, UserError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    params = conversion.variables["params"]
    count = sum(np.size(x) for x in jax.tree.leaves(params))
    print(f"Converted {args.input} ({args.arch}): {count:,} parameters in "
          f"{', '.join(sorted(params))}, written to {os.path.join(args.output, 'state')}.")
    for key, why in sorted(conversion.dropped.items()):
        print(f"  dropped {key}: {why}")
    print(f"Use it with --config.init_from={args.output}")
    return 0
