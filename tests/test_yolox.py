"""YOLOX: shapes, parameter counts equal to the published ones, outputs and conversion equal to a
PyTorch reference with the official key names, SimOTA equal to the official per-gt loop, AP equal
to pycocotools."""

import contextlib
import importlib
import io
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.quick_compiles import quick_compiles  # noqa: F401 (autouse fixture)
from zoo.convert.yolox import convert_yolox
from zoo.losses.yolox import simota_assign, yolox_loss
from zoo.metrics.detection import ImageBoxes, average_precision
from zoo.models.yolox import YOLOX, anchor_points

# Published parameter counts (YOLOX README, COCO: 80 classes), in millions as printed there.
PUBLISHED = {"nano": 0.91, "s": 9.0, "x": 99.1}
slow = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")



def _params(module, shape=(1, 64, 64, 3)) -> int:
    variables = jax.eval_shape(lambda: module.init(jax.random.key(0), jnp.zeros(shape), train=False))
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(variables["params"]))


@pytest.fixture(scope="module")
def reference(torch):
    return importlib.import_module("tests.torch_yolox_reference")


@pytest.mark.parametrize("size", [pytest.param(s, marks=() if s == "nano" else slow) for s in sorted(PUBLISHED)])
def test_parameter_counts_equal_published_and_the_reference(reference, size):
    ours = _params(YOLOX(num_classes=80, size=size))
    assert ours == reference.parameter_count(reference.YOLOX(size, 80))
    digits = 2 if size == "nano" else 1
    assert round(ours / 1e6, digits) == PUBLISHED[size]


def test_tiny_shapes_train_and_inference():
    model = YOLOX(num_classes=5, size="s", width=0.125)
    x = jnp.zeros((2, 64, 96, 3))
    variables = jax.jit(lambda: model.init(jax.random.key(0), x[:1], train=False))()

    # Training mode's shapes need no compile; inference is run (the prior is checked on values).
    raw = jax.eval_shape(lambda v, x: model.apply(v, x, train=True, mutable=["batch_stats"])[0], variables, x)
    decoded = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, x)
    assert raw.shape == decoded.shape == (2, 8 * 12 + 4 * 6 + 2 * 3, 10)
    probs = np.asarray(decoded[..., 4:])
    assert np.all((probs > 0) & (probs < 1)) and abs(probs.mean() - 0.01) < 0.01  # the 0.01 prior
    with pytest.raises(ValueError, match="multiples of 32"):
        jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 60, 96, 3)), train=False))


def test_converted_weights_give_the_reference_outputs(torch, reference):
    torch.manual_seed(0)
    net = reference.YOLOX("s", 3).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        images = torch.rand(2, 3, 64, 96) * 4
        want = net(images).numpy()
    conversion = convert_yolox({"model": net.state_dict()}, arch="yolox_s")  # as yolox_s.pth holds it
    assert set(conversion.dropped.values()) == {"BatchNorm update counter"}
    model = YOLOX(num_classes=3, size="s")
    got = jax.jit(lambda v, x: model.apply(v, x, train=False))(
        conversion.variables, jnp.asarray(images.permute(0, 2, 3, 1).numpy()))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-3)
    assert np.abs(want[..., :4]).max() > 50  # real boxes, not near-zero maps
    # nano (depthwise): every key of the official layout is found and used (shapes only).
    nano = convert_yolox(reference.YOLOX("nano", 1).state_dict(), arch="yolox_nano")
    assert nano.variables["params"]["head"]["cls_preds_0"]["kernel"].shape == (1, 1, 64, 1)
    with pytest.raises(ValueError, match="not a yolox_nano state dict"):
        convert_yolox(net.state_dict(), arch="yolox_nano")


def _simota_loop(pred, obj, cls, gt, gcls, centres, strides):
    """The official assignment written as its loops (candidates, cost, dynamic k per gt, conflicts)."""
    def iou(a, b):
        tl = np.maximum(a[:, None, :2] - a[:, None, 2:] / 2, b[None, :, :2] - b[None, :, 2:] / 2)
        br = np.minimum(a[:, None, :2] + a[:, None, 2:] / 2, b[None, :, :2] + b[None, :, 2:] / 2)
        inter = np.prod(br - tl, -1) * np.all(tl < br, -1)
        return inter / (np.prod(a[:, 2:], -1)[:, None] + np.prod(b[:, 2:], -1)[None] - inter)

    ax, ay = centres[:, 0], centres[:, 1]
    in_box = np.stack([(ax > g[0] - g[2] / 2) & (ax < g[0] + g[2] / 2) & (ay > g[1] - g[3] / 2) & (ay < g[1] + g[3] / 2)
                       for g in gt])
    in_centre = np.stack([(np.abs(ax - g[0]) < 2.5 * strides) & (np.abs(ay - g[1]) < 2.5 * strides) for g in gt])
    candidates = np.flatnonzero((in_box | in_centre).any(0))
    ious = iou(gt, pred[candidates])
    p = np.sqrt(1 / (1 + np.exp(-cls[candidates])) / (1 + np.exp(-obj[candidates]))[:, None])
    onehot = np.eye(cls.shape[1])[gcls][:, None, :]
    log = lambda q: np.maximum(np.log(q), -100)  # noqa: E731
    cost = (-(onehot * log(p) + (1 - onehot) * log(1 - p)).sum(-1) + 3 * -np.log(ious + 1e-8)
            + 1e5 * ~(in_box[:, candidates] & in_centre[:, candidates]))
    matching = np.zeros_like(cost, dtype=int)
    ks = np.maximum(-np.sort(-ious, axis=1)[:, :min(10, len(candidates))].sum(1).astype(int), 1)
    for g, k in enumerate(ks):
        matching[g, np.argsort(cost[g], kind="stable")[:k]] = 1
    several = matching.sum(0) > 1
    matching[:, several] = 0
    matching[cost[:, several].argmin(0), np.flatnonzero(several)] = 1
    fg = np.zeros(len(pred), bool)
    fg[candidates[matching.sum(0) > 0]] = True
    matched = np.zeros(len(pred), int)
    matched[candidates[matching.sum(0) > 0]] = matching[:, matching.sum(0) > 0].argmax(0)
    return fg, matched


def test_simota_equals_the_official_loop_with_padding():
    cells, strides = anchor_points(64, 96)
    centres = (cells + 0.5) * strides[:, None]
    rng = np.random.default_rng(0)
    assign = jax.jit(simota_assign)  # one compile for the three draws (op by op costs more)
    for _ in range(3):
        gt = np.column_stack([rng.uniform(5, 90, 6), rng.uniform(5, 60, 6), rng.uniform(4, 30, 6), rng.uniform(4, 40, 6)])
        gcls = rng.integers(0, 3, 6)
        pred = np.column_stack([centres + rng.normal(0, 6, (len(cells), 2)), rng.uniform(4, 40, (len(cells), 2))])
        obj, cls = rng.normal(0, 2, len(cells)), rng.normal(0, 2, (len(cells), 3))
        fg, matched = _simota_loop(pred, obj, cls, gt, gcls, centres, strides)
        padded = lambda a, n: np.concatenate([a, np.zeros((n, *a.shape[1:]), a.dtype)])  # noqa: E731
        got_fg, got_matched, got_iou = assign(
            jnp.asarray(pred, jnp.float32), jnp.asarray(obj, jnp.float32), jnp.asarray(cls, jnp.float32),
            jnp.asarray(padded(gt, 4), jnp.float32), jnp.asarray(padded(gcls, 4)),
            jnp.asarray(np.r_[np.ones(6, bool), np.zeros(4, bool)]), jnp.asarray(centres), jnp.asarray(strides))
        assert fg.sum() > 5 and np.array_equal(np.asarray(got_fg), fg)
        assert np.array_equal(np.asarray(got_matched)[fg], matched[fg])
    loss, metrics = jax.jit(lambda r: yolox_loss(r, jnp.asarray(padded(gt, 4)[None], jnp.float32),
                                                 jnp.asarray(padded(gcls, 4)[None]),
                                                 jnp.asarray(np.r_[np.ones(6, bool), np.zeros(4, bool)][None]),
                                                 height=64, width=96, use_l1=True))(
        jnp.asarray(rng.normal(0, 1, (1, len(cells), 8)), jnp.float32))
    assert np.isfinite(float(loss)) and float(metrics["foreground_per_gt"][0]) > 0


def test_ap_equals_pycocotools():
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    from pycocotools.coco import COCO

    rng = np.random.default_rng(0)
    for agnostic in (True, False):
        gts, dets = [], []
        for _ in range(10):
            n, m = rng.integers(0, 8), rng.integers(0, 12)
            g = np.column_stack([rng.uniform(0, 300, (n, 2)), rng.uniform(5, 60, (n, 2))]).round(1)
            source = g[rng.integers(0, max(n, 1), m)] if n else np.zeros((m, 4)) + 10
            d = np.abs(source + rng.normal(0, 4, (m, 4))) + [0, 0, 1, 1]
            gts.append(ImageBoxes(g, rng.integers(0, 3, n), np.ones(n)))
            dets.append(ImageBoxes(d, rng.integers(0, 3, m), rng.choice([0.3, 0.5, 0.9], m)))  # score ties
        category = (lambda c: 1) if agnostic else (lambda c: int(c) + 1)  # noqa: E731
        annotations = [{"id": k + 1, "image_id": i + 1, "category_id": category(c), "bbox": b.tolist(),
                        "area": float(b[2] * b[3]), "iscrowd": 0}
                       for k, (i, b, c) in enumerate((i, b, c) for i, g in enumerate(gts) for b, c in zip(g.tlwh, g.classes))]
        results = [{"image_id": i + 1, "category_id": category(c), "bbox": b.tolist(), "score": float(s)}
                   for i, d in enumerate(dets) for b, c, s in zip(d.tlwh, d.classes, d.scores)]
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO()
            coco.dataset = {"images": [{"id": i + 1} for i in range(len(gts))], "annotations": annotations,
                            "categories": [{"id": j} for j in (1, 2, 3)]}
            coco.createIndex()
            evaluation = cocoeval.COCOeval(coco, coco.loadRes(results), "bbox")
            evaluation.params.iouThrs = np.array([0.5])
            evaluation.params.areaRng, evaluation.params.areaRngLbl = [[0, 1e10]], ["all"]
            evaluation.params.maxDets = [100]
            evaluation.evaluate()
            evaluation.accumulate()
        precision = evaluation.eval["precision"][0, :, :, 0, 0]
        want = np.mean([precision[:, k].mean() for k in range(3) if (precision[:, k] > -1).any()])
        assert average_precision(gts, dets, class_agnostic=agnostic)["mAP"] == pytest.approx(want, abs=1e-12)


@slow  # the conversion itself is checked above; this is the command around it
def test_command_line_converts_a_bytetrack_style_checkpoint(torch, reference, tmp_path, capsys):
    from zoo.convert import cli

    path = tmp_path / "bytetrack_nano_mot20.pth.tar"
    torch.save({"model": reference.YOLOX("nano", 1).state_dict(), "start_epoch": 80}, path)
    assert cli.main(["--arch", "yolox_nano", "--input", str(path), "--output", str(tmp_path / "weights")]) == 0
    assert "896,754 parameters" in capsys.readouterr().out  # YOLOX-nano with ByteTrack's 1 class
    assert (tmp_path / "weights" / "state").is_dir()
