"""The pitch model and the camera model equal the official calibration code, and run under JAX."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.geometry import camera as camera_lib
from zoo.geometry import pitch as pitch_lib
from zoo.geometry.camera import Camera

official = pytest.importorskip("SoccerNet.Evaluation.utils_calibration")

W, H = 960, 540


# ------------------------------------------------------------------------------------------ pitch


def test_classes_and_mirror_equal_official():
    assert pitch_lib.LINE_CLASSES == tuple(official.SoccerPitch.lines_classes)
    assert "Goal left post left " in pitch_lib.LINE_CLASSES  # the trailing space is part of it
    assert dict(pitch_lib.MIRRORED_CLASS) == official.SoccerPitch.symetric_classes
    mirror = pitch_lib.mirror_index()
    np.testing.assert_array_equal(mirror[mirror], np.arange(len(pitch_lib.LINE_CLASSES)))
    assert set(pitch_lib.ELEMENT_CLASSES) | set(pitch_lib.UNKNOWN_CLASSES) == set(
        pitch_lib.LINE_CLASSES
    )


@pytest.mark.parametrize("steps", [(0.9, 0.2), (0.1, 0.2), (0.5, 0.35)])
def test_sampling_equals_official(steps):
    """Same elements, same order, same points to the last bit."""
    expected = official.SoccerPitch().sample_field_points(*steps)
    got = pitch_lib.Pitch().sample(*steps)
    assert list(got) == list(expected)
    for name, points in expected.items():
        np.testing.assert_array_equal(got[name], np.array(points), err_msg=name)
    flat = pitch_lib.sampled_pitch(*steps)
    np.testing.assert_array_equal(
        flat.points, np.concatenate([np.array(p) for p in expected.values()])
    )
    assert flat.classes == tuple(expected)


def test_key_points_equal_official():
    points = pitch_lib.Pitch().key_points()
    for name, point in official.SoccerPitch().point_dict.items():
        np.testing.assert_array_equal(points[name], point, err_msg=name)


def test_mirrored_elements_are_point_reflections():
    """Each element, reflected through the centre spot, is its mirrored class's element."""
    elements = pitch_lib.Pitch().straight_elements()
    reflect = np.array([-1.0, -1.0, 1.0])
    for name, (a, b) in elements.items():
        image_a, image_b = elements[pitch_lib.MIRRORED_CLASS[name]]
        ends = {tuple(np.round(a * reflect, 9)), tuple(np.round(b * reflect, 9))}
        assert ends == {tuple(np.round(image_a, 9)), tuple(np.round(image_b, 9))}, name
    arcs = pitch_lib.Pitch().sample()
    np.testing.assert_allclose(
        np.sort(arcs["Circle left"][:, :2] * -1, axis=0),
        np.sort(arcs["Circle right"][:, :2], axis=0),
        atol=1e-9,
    )


# ----------------------------------------------------------------------------------------- camera


def official_camera(document):
    camera = official.Camera(W, H)
    camera.from_json_parameters(document)
    return camera


def random_cameras(seed, num, distortion=1.0):
    return camera_lib.sample_broadcast_cameras(
        np.random.default_rng(seed), num, distortion=distortion
    )


def test_json_round_trip_and_rotation_equal_official():
    cameras = random_cameras(0, 20)
    rotations = cameras.rotation()
    for i in range(20):
        document = cameras.select(i).to_json()
        assert set(document) == set(official.Camera().to_json_parameters())
        again = Camera.from_json(document)
        for field, value in zip(again, cameras.select(i)):
            np.testing.assert_array_equal(field, value)
        np.testing.assert_array_equal(rotations[i], official_camera(document).rotation)
    np.testing.assert_allclose(
        rotations @ np.swapaxes(rotations, -1, -2),
        np.broadcast_to(np.eye(3), (20, 3, 3)),
        atol=1e-12,
    )
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-12)


def test_pan_tilt_roll_from_rotation():
    rng = np.random.default_rng(1)
    pan, tilt, roll = rng.uniform(-3, 3, 50), rng.uniform(0.1, 3.0, 50), rng.uniform(-1.5, 1.5, 50)
    rotation = camera_lib.rotation_from_pan_tilt_roll(pan, tilt, roll)
    got = camera_lib.pan_tilt_roll_from_rotation(rotation)
    np.testing.assert_allclose(np.stack(got), np.stack([pan, tilt, roll]), atol=1e-9)
    for i in range(5):
        np.testing.assert_allclose(
            [g[i] for g in got], official.rotation_matrix_to_pan_tilt_roll(rotation[i]), atol=1e-12
        )


def test_projection_equals_official_points():
    """Float64 projection with distortion, to the official's float32-rounded pixels; points
    behind the camera flagged where the official returns zeros."""
    cameras = random_cameras(2, 6, distortion=2.0)
    points = np.concatenate([pitch_lib.sampled_pitch().points, [[0, 80, -30], [0, 60, -40]]])
    pixels, in_front = camera_lib.project(cameras, points)
    assert pixels.shape == (6, len(points), 2) and in_front.shape == (6, len(points))
    assert not in_front.all()  # the two points above and behind the cameras
    for i in range(6):
        camera = official_camera(cameras.select(i).to_json())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.array([camera.project_point(p) for p in points])
        np.testing.assert_array_equal(expected[:, 2] == 1, in_front[i])
        # The official rounds distorted coordinates to float32: 1e-3 px at these focal lengths.
        np.testing.assert_allclose(
            pixels[i][in_front[i]], expected[in_front[i], :2], rtol=1e-6, atol=1e-3
        )


def test_look_at_and_homography():
    position, target = np.array([10.0, 55.0, -15.0]), np.array([-20.0, 5.0, 0.0])
    pan, tilt = camera_lib.look_at(position, target)
    camera = Camera.create(
        pan_degrees=pan,
        tilt_degrees=tilt,
        roll_degrees=0.0,
        position=position,
        focal_length=[1500.0, 1500.0],
        principal_point=[480.0, 270.0],
    )
    below = target + [0.0, 5.0, 0.0]  # nearer the camera: lower in an upright image
    pixels, in_front = camera_lib.project(camera, np.stack([target, below]))
    assert in_front.all()
    np.testing.assert_allclose(pixels[0], [480.0, 270.0], atol=1e-9)
    assert pixels[1, 1] > pixels[0, 1]
    plane = np.array([[0.0, 0.0], [30.0, -20.0], [-40.0, 25.0]])
    homogeneous = np.concatenate([plane, np.ones((3, 1))], 1) @ camera.pitch_homography().T
    projected, _ = camera_lib.project(camera, np.concatenate([plane, np.zeros((3, 1))], 1))
    np.testing.assert_allclose(homogeneous[:, :2] / homogeneous[:, 2:], projected, rtol=1e-12)


def test_broadcast_cameras_see_the_pitch():
    cameras = random_cameras(3, 50)
    pixels, in_front = camera_lib.project(cameras, pitch_lib.sampled_pitch().points)
    visible = (
        in_front
        & (pixels[..., 0] >= 0)
        & (pixels[..., 0] < W)
        & (pixels[..., 1] >= 0)
        & (pixels[..., 1] < H)
    )
    assert (visible.sum(1) > 20).mean() > 0.9


def test_projection_runs_under_jit_and_grad():
    cameras = random_cameras(4, 3)
    # A point on the principal axis (r = 0) too, where a naive radius would have no gradient.
    points = np.concatenate([pitch_lib.sampled_pitch().points[::7], [[-20.0, 10.0, 0.0]]])
    target = np.array([-20.0, 10.0, 0.0])
    pan, tilt = camera_lib.look_at(np.asarray(cameras.position), target)
    cameras = cameras._replace(pan_degrees=pan, tilt_degrees=tilt, roll_degrees=np.zeros(3))
    expected, in_front = camera_lib.project(cameras, points)

    def loss(c, p):
        pixels, front = camera_lib.project(c, p, xp=jnp)
        return jnp.sum(jnp.where(front[..., None], pixels, 0.0) ** 2) * 1e-6, (pixels, front)

    as_jax = Camera(*(jnp.asarray(f, jnp.float32) for f in cameras))
    (_, (got, got_front)), gradients = jax.jit(jax.value_and_grad(loss, has_aux=True))(
        as_jax, jnp.asarray(points, jnp.float32)
    )
    np.testing.assert_array_equal(np.asarray(got_front), in_front)
    np.testing.assert_allclose(np.asarray(got)[in_front], expected[in_front], rtol=2e-3, atol=0.5)
    np.testing.assert_allclose(np.asarray(got)[:, -1], [[480.0, 270.0]] * 3, atol=0.05)
    assert all(bool(jnp.isfinite(g).all()) for g in gradients)
    assert float(jnp.abs(gradients.focal_length).sum()) > 0
