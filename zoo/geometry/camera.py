"""The broadcast camera of the SoccerNet calibration task: parameters, JSON, rotation, projection.

A camera (REFERENCE.md §5.2) is a pinhole at `position` (metres, world frame of
`zoo.geometry.pitch`) with orientation given by pan, tilt and roll in degrees: intrinsic ZXZ
Euler angles, so the world-to-camera rotation is the transpose of Rz(pan) Rx(tilt) Rz(roll).
Lens: focal lengths and principal point in pixels, and OpenCV's full distortion model on
normalised coordinates (x, y) with r^2 = x^2 + y^2:

  radial factor  (1 + k1 r^2 + k2 r^4 + k3 r^6) / (1 + k4 r^2 + k5 r^4 + k6 r^6)
  x' = x factor + 2 p1 x y + p2 (r^2 + 2 x^2) + s1 r^2 + s2 r^4
  y' = y factor + 2 p2 x y + p1 (r^2 + 2 y^2) + s3 r^2 + s4 r^4
  u = fx x' + cx,  v = fy y' + cy

A point is in front of the camera when its depth (z in camera coordinates) exceeds 1e-3.

Every function is vectorised: camera fields may carry leading batch dimensions [...] and points
[..., P, 3] broadcast against them. Functions take `xp` (numpy by default, or `jax.numpy`), and
`Camera` is a NamedTuple, hence a JAX pytree, so the same code runs under `jax.jit` and `jax.grad`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

# Depth below which a point counts as behind the camera.
MIN_DEPTH = 1e-3
# Keys of a `camera_<idx>.json` file, with the length of each list-valued entry (None: a number).
JSON_FIELDS: Mapping[str, int | None] = {
    "pan_degrees": None,
    "tilt_degrees": None,
    "roll_degrees": None,
    "position_meters": 3,
    "x_focal_length": None,
    "y_focal_length": None,
    "principal_point": 2,
    "radial_distortion": 6,
    "tangential_distortion": 2,
    "thin_prism_distortion": 4,
}


class Camera(NamedTuple):
    """Camera parameters; each field may have the same leading batch shape [...].

    pan_degrees, tilt_degrees, roll_degrees [...]; position [..., 3] metres; focal_length
    [..., 2] (fx, fy) pixels; principal_point [..., 2] (cx, cy) pixels; radial_distortion
    [..., 6] (k1..k6); tangential_distortion [..., 2] (p1, p2); thin_prism_distortion [..., 4]
    (s1..s4).
    """

    pan_degrees: Any
    tilt_degrees: Any
    roll_degrees: Any
    position: Any
    focal_length: Any
    principal_point: Any
    radial_distortion: Any
    tangential_distortion: Any
    thin_prism_distortion: Any

    @classmethod
    def from_json(cls, params: Mapping[str, Any]) -> Camera:
        """A camera from the dict of a `camera_<idx>.json` file (float64 arrays).

        Raises KeyError for a missing key and ValueError for a list of the wrong length; the
        readers in `zoo.formats.calibration` check files fully and name them.
        """
        arrays = {}
        for key, length in JSON_FIELDS.items():
            value = np.asarray(params[key], dtype=np.float64)
            expected = () if length is None else (length,)
            if value.shape != expected:
                raise ValueError(f"'{key}' must have shape {expected}, got {value.shape}")
            arrays[key] = value
        return cls(
            pan_degrees=arrays["pan_degrees"],
            tilt_degrees=arrays["tilt_degrees"],
            roll_degrees=arrays["roll_degrees"],
            position=arrays["position_meters"],
            focal_length=np.stack([arrays["x_focal_length"], arrays["y_focal_length"]]),
            principal_point=arrays["principal_point"],
            radial_distortion=arrays["radial_distortion"],
            tangential_distortion=arrays["tangential_distortion"],
            thin_prism_distortion=arrays["thin_prism_distortion"],
        )

    def to_json(self) -> dict[str, Any]:
        """The `camera_<idx>.json` dict of one (unbatched) camera, with plain Python floats."""
        if np.shape(self.pan_degrees) != ():
            raise ValueError(f"to_json needs one camera, got batch shape {self.batch_shape}")

        def floats(value):
            return [float(v) for v in np.asarray(value, np.float64)]

        return {
            "pan_degrees": float(self.pan_degrees),
            "tilt_degrees": float(self.tilt_degrees),
            "roll_degrees": float(self.roll_degrees),
            "position_meters": floats(self.position),
            "x_focal_length": float(self.focal_length[0]),
            "y_focal_length": float(self.focal_length[1]),
            "principal_point": floats(self.principal_point),
            "radial_distortion": floats(self.radial_distortion),
            "tangential_distortion": floats(self.tangential_distortion),
            "thin_prism_distortion": floats(self.thin_prism_distortion),
        }

    @classmethod
    def stack(cls, cameras: Sequence[Camera]) -> Camera:
        """Cameras of the same batch shape stacked on a new leading axis (numpy)."""
        if not cameras:
            raise ValueError("stack needs at least one camera")
        return cls(*(np.stack([np.asarray(f) for f in fields]) for fields in zip(*cameras)))

    @classmethod
    def create(
        cls,
        *,
        pan_degrees,
        tilt_degrees,
        roll_degrees,
        position,
        focal_length,
        principal_point,
        radial_distortion=None,
        tangential_distortion=None,
        thin_prism_distortion=None,
    ) -> Camera:
        """A camera from (broadcastable) numpy values; distortion defaults to none."""
        pan = np.asarray(pan_degrees, np.float64)
        batch = np.broadcast_shapes(
            pan.shape,
            np.shape(tilt_degrees),
            np.shape(roll_degrees),
            np.shape(position)[:-1],
            np.shape(focal_length)[:-1],
            np.shape(principal_point)[:-1],
        )

        def field(value, size):
            if value is None:
                value = np.zeros(size)
            value = np.asarray(value, np.float64)
            return np.broadcast_to(value, batch + (size,) if size else batch).copy()

        return cls(
            pan_degrees=field(pan_degrees, 0),
            tilt_degrees=field(tilt_degrees, 0),
            roll_degrees=field(roll_degrees, 0),
            position=field(position, 3),
            focal_length=field(focal_length, 2),
            principal_point=field(principal_point, 2),
            radial_distortion=field(radial_distortion, 6),
            tangential_distortion=field(tangential_distortion, 2),
            thin_prism_distortion=field(thin_prism_distortion, 4),
        )

    def select(self, index) -> Camera:
        """The cameras of a batch at `index` (an int, a slice or an index array)."""
        return Camera(*(field[index] for field in self))

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.pan_degrees))

    def rotation(self, xp=np):
        """World-to-camera rotation [..., 3, 3]."""
        return rotation_from_pan_tilt_roll(
            self.pan_degrees * np.pi / 180.0,
            self.tilt_degrees * np.pi / 180.0,
            self.roll_degrees * np.pi / 180.0,
            xp=xp,
        )

    def intrinsic_matrix(self, xp=np):
        """Calibration matrix K [..., 3, 3] (no skew)."""
        fx, fy = self.focal_length[..., 0], self.focal_length[..., 1]
        cx, cy = self.principal_point[..., 0], self.principal_point[..., 1]
        zero, one = xp.zeros_like(fx), xp.ones_like(fx)
        return xp.stack(
            [
                xp.stack([fx, zero, cx], -1),
                xp.stack([zero, fy, cy], -1),
                xp.stack([zero, zero, one], -1),
            ],
            -2,
        )

    def pitch_homography(self, xp=np):
        """Homography [..., 3, 3] from the pitch plane (x, y, 1), z = 0, to undistorted pixels."""
        rotation = self.rotation(xp)
        translation = -xp.einsum("...ij,...j->...i", rotation, self.position)
        plane = xp.stack([rotation[..., :, 0], rotation[..., :, 1], translation], -1)
        return xp.einsum("...ij,...jk->...ik", self.intrinsic_matrix(xp), plane)


def _about_z(angle, xp):
    cos, sin = xp.cos(angle), xp.sin(angle)
    zero, one = xp.zeros_like(cos), xp.ones_like(cos)
    return xp.stack(
        [
            xp.stack([cos, -sin, zero], -1),
            xp.stack([sin, cos, zero], -1),
            xp.stack([zero, zero, one], -1),
        ],
        -2,
    )


def _about_x(angle, xp):
    cos, sin = xp.cos(angle), xp.sin(angle)
    zero, one = xp.zeros_like(cos), xp.ones_like(cos)
    return xp.stack(
        [
            xp.stack([one, zero, zero], -1),
            xp.stack([zero, cos, -sin], -1),
            xp.stack([zero, sin, cos], -1),
        ],
        -2,
    )


def rotation_from_pan_tilt_roll(pan, tilt, roll, *, xp=np):
    """World-to-camera rotation [..., 3, 3] from pan, tilt, roll [...] in radians.

    The camera's orientation (its axes in world coordinates, as columns) is Rz(pan) Rx(tilt)
    Rz(roll); the rotation that maps world vectors to camera coordinates is its transpose.
    """
    pan, tilt, roll = xp.asarray(pan), xp.asarray(tilt), xp.asarray(roll)
    orientation = xp.matmul(_about_z(pan, xp), xp.matmul(_about_x(tilt, xp), _about_z(roll, xp)))
    return xp.swapaxes(orientation, -1, -2)


def pan_tilt_roll_from_rotation(rotation, *, xp=np):
    """Pan, tilt, roll [...] in radians of a world-to-camera rotation [..., 3, 3].

    Of the two decompositions (tilt and -tilt) the one with the smaller |roll| is returned, as
    camera operators keep the roll small. Inverse of `rotation_from_pan_tilt_roll` for tilt in
    (0, pi) and |roll| < pi / 2.
    """
    orientation = xp.swapaxes(xp.asarray(rotation), -1, -2)
    tilt = xp.arccos(xp.clip(orientation[..., 2, 2], -1.0, 1.0))
    solutions = []
    for candidate in (tilt, -tilt):
        sign = xp.where(xp.sin(candidate) > 0, 1.0, -1.0)
        pan = xp.arctan2(sign * orientation[..., 0, 2], sign * -orientation[..., 1, 2])
        roll = xp.arctan2(sign * orientation[..., 2, 0], sign * orientation[..., 2, 1])
        solutions.append((pan, candidate, roll))
    (pan1, tilt1, roll1), (pan2, tilt2, roll2) = solutions
    first = xp.abs(roll1) < xp.abs(roll2)
    return xp.where(first, pan1, pan2), xp.where(first, tilt1, tilt2), xp.where(first, roll1, roll2)


def camera_coordinates(points, rotation, position, *, xp=np):
    """World points [..., P, 3] in camera coordinates [..., P, 3]: R (X - C).

    rotation [..., 3, 3] and position [..., 3] broadcast against the points' leading dims.
    """
    offset = points - position[..., None, :]
    return xp.matmul(rotation[..., None, :, :], offset[..., :, None])[..., 0]


def radius_powers(x, y, *, xp=np):
    """(r^2, r^4, r^6, x^2, y^2) as plain products: smooth everywhere, fine for gradients."""
    x2, y2 = x * x, y * y
    r2 = x2 + y2
    r4 = r2 * r2
    return r2, r4, r4 * r2, x2, y2


def distort(
    x,
    y,
    radial_distortion,
    tangential_distortion,
    thin_prism_distortion,
    *,
    xp=np,
    powers: Callable | tuple | None = None,
):
    """OpenCV's rational, tangential and thin-prism distortion of normalised coordinates.

    x, y [..., P]; radial_distortion [..., 6], tangential_distortion [..., 2],
    thin_prism_distortion [..., 4] (leading dims broadcast against x's). `powers`: the tuple
    (r^2, r^4, r^6, x^2, y^2) [..., P], or a function `powers(x, y, xp=xp)` returning it; by
    default `radius_powers`. The terms are summed in the order of the formula in the module
    docstring, which is the evaluator's order.
    Returns (x', y') [..., P].
    """
    if powers is None or callable(powers):
        powers = (powers or radius_powers)(x, y, xp=xp)
    r2, r4, r6, x2, y2 = powers
    k = [radial_distortion[..., i, None] for i in range(6)]
    p1, p2 = tangential_distortion[..., 0, None], tangential_distortion[..., 1, None]
    s = [thin_prism_distortion[..., i, None] for i in range(4)]
    numerator = ((1.0 + k[0] * r2) + k[1] * r4) + k[2] * r6
    denominator = ((1.0 + k[3] * r2) + k[4] * r4) + k[5] * r6
    factor = numerator / denominator
    x_distorted = (((x * factor + 2 * p1 * x * y) + p2 * (r2 + 2 * x2)) + s[0] * r2) + s[1] * r4
    y_distorted = (((y * factor + 2 * p2 * x * y) + p1 * (r2 + 2 * y2)) + s[2] * r2) + s[3] * r4
    return x_distorted, y_distorted


def look_at(position, target, *, xp=np):
    """Pan and tilt [...] in degrees of a camera at `position` [..., 3] whose principal axis
    points at `target` [..., 3] (with roll 0 the image is upright: world z, down, is image v)."""
    direction = target - position
    direction = direction / xp.linalg.norm(direction, axis=-1, keepdims=True)
    # The principal axis is Rz(pan) Rx(tilt) e_z = (sin pan sin tilt, -cos pan sin tilt, cos tilt).
    tilt = xp.arccos(xp.clip(direction[..., 2], -1.0, 1.0))
    pan = xp.arctan2(direction[..., 0], -direction[..., 1])
    return pan * 180.0 / np.pi, tilt * 180.0 / np.pi


def sample_broadcast_cameras(
    rng: np.random.Generator,
    num: int,
    *,
    width: int = 960,
    height: int = 540,
    distortion: float = 1.0,
) -> Camera:
    """Random plausible main broadcast cameras [num] for width x height images (numpy).

    The camera stands 8-25 m high behind the bottom touch line (y 45-70 m, x within 25 m of the
    halfway line), looks at a point of the pitch, with a horizontal field of view of 8-60
    degrees, a roll within 2 degrees, square pixels (to 1 %) and the principal point at the image
    centre. `distortion` scales the lens coefficients (0: none; 1: radial k1 within 0.15 and
    small higher-order, tangential and thin-prism terms).
    """
    position = np.stack(
        [rng.uniform(-25, 25, num), rng.uniform(45, 70, num), -rng.uniform(8, 25, num)], axis=-1
    )
    target = np.stack(
        [rng.uniform(-52, 52, num), rng.uniform(-30, 30, num), np.zeros(num)], axis=-1
    )
    pan, tilt = look_at(position, target)
    fov = np.deg2rad(rng.uniform(8, 60, num))
    fx = (width / 2) / np.tan(fov / 2)
    scale = np.array([0.15, 0.05, 0.01, 0.02, 0.005, 0.001])
    radial = distortion * rng.uniform(-1, 1, (num, 6)) * scale
    return Camera.create(
        pan_degrees=pan,
        tilt_degrees=tilt,
        roll_degrees=rng.uniform(-2, 2, num),
        position=position,
        focal_length=np.stack([fx, fx * rng.uniform(0.99, 1.01, num)], axis=-1),
        principal_point=np.broadcast_to([width / 2, height / 2], (num, 2)),
        radial_distortion=radial,
        tangential_distortion=distortion * rng.uniform(-1e-3, 1e-3, (num, 2)),
        thin_prism_distortion=distortion * rng.uniform(-1e-3, 1e-3, (num, 4)),
    )


def project(camera: Camera, points, *, xp=np, min_depth: float = MIN_DEPTH):
    """Pixels of world points: (pixels [..., P, 2], in_front [..., P] bool).

    points [..., P, 3] (or [P, 3], shared by every camera of the batch). Points at depth
    <= min_depth are behind the camera: their pixels are computed at depth 1 instead (finite,
    meaningless, and with finite gradients); mask them with `in_front`.
    """
    rotation = camera.rotation(xp)
    local = camera_coordinates(points, rotation, camera.position, xp=xp)
    depth = local[..., 2]
    in_front = depth > min_depth
    safe_depth = xp.where(in_front, depth, 1.0)
    x, y = local[..., 0] / safe_depth, local[..., 1] / safe_depth
    x, y = distort(
        x,
        y,
        camera.radial_distortion,
        camera.tangential_distortion,
        camera.thin_prism_distortion,
        xp=xp,
    )
    u = x * camera.focal_length[..., 0, None] + camera.principal_point[..., 0, None]
    v = y * camera.focal_length[..., 1, None] + camera.principal_point[..., 1, None]
    return xp.stack([u, v], -1), in_front
