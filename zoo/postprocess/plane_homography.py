"""Initial cameras from planes of the pitch: batched homographies (points and lines) in JAX.

A plane of the pitch (the ground, or a goal-line plane x = +-52.5 holding the posts, the
crossbar and the goal line) maps to the undistorted image by a homography H: pixel ~ H (a, b, 1)
with (a, b) coordinates on the plane. Point correspondences give x' x (H x) = 0, line
correspondences (an image line l of a straight element L of the plane) give L x (H^T l) = 0;
both are linear in the nine entries of H, so points and lines solve together (DLT, on
coordinates normalised to about 1). Outliers are removed with RANSAC: random minimal sets of
four correspondences, inliers counted at each threshold of a sweep, the best set of each
threshold refitted on its inliers, as the published solvers do with `cv2.findHomography`.

A homography decomposes into a camera when the principal point is known (the image centre) and
pixels are square: the focal length follows from the orthogonality and equal length of the
plane's two axes seen through K^-1, then the rotation and position as in Hartley & Zisserman
(Example 8.1). Everything is vectorised: `vmap` it over images.

Shapes: one image's correspondences are C slots (padded; `weight` 0 is empty). `kind` [C] is
0 for a point, 1 for a line; `plane_xy` [C, 3] is a plane point (a, b, 1) or a plane line
(homogeneous); `image_xy` [C, 3] an image point (u, v, 1) or an image line; `ends` [C, 2, 2]
the two extreme observed pixels of a line (to measure how far it is from a projected line).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from zoo.geometry import camera as camera_lib

# Normalisation of image pixels (about the centre, by half the width) for the DLT.
IMAGE_SCALE = 480.0


class Correspondences(NamedTuple):
    """One image's correspondences on one plane (see the module docstring for shapes)."""

    kind: jax.Array
    plane_xy: jax.Array
    image_xy: jax.Array
    ends: jax.Array
    weight: jax.Array


def inverse3(m: jax.Array) -> jax.Array:
    """The inverse of a 3x3 matrix by cofactors (elementwise: cheap to differentiate and fuse)."""
    cofactor = jnp.stack([
        jnp.stack([m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1], m[1, 2] * m[2, 0] - m[1, 0] * m[2, 2],
                   m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]]),
        jnp.stack([m[0, 2] * m[2, 1] - m[0, 1] * m[2, 2], m[0, 0] * m[2, 2] - m[0, 2] * m[2, 0],
                   m[0, 1] * m[2, 0] - m[0, 0] * m[2, 1]]),
        jnp.stack([m[0, 1] * m[1, 2] - m[0, 2] * m[1, 1], m[0, 2] * m[1, 0] - m[0, 0] * m[1, 2],
                   m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]]),
    ])
    determinant = jnp.sum(m[0] * cofactor[0])
    return cofactor.T / determinant


def _cross_matrix(v: jax.Array) -> jax.Array:
    """[..., 3, 3] matrices [v]_x with [v]_x w = v x w."""
    zero = jnp.zeros_like(v[..., 0])
    return jnp.stack(
        [
            jnp.stack([zero, -v[..., 2], v[..., 1]], -1),
            jnp.stack([v[..., 2], zero, -v[..., 0]], -1),
            jnp.stack([-v[..., 1], v[..., 0], zero], -1),
        ],
        -2,
    )


def _normalisers(center: jax.Array, plane_scale: jax.Array):
    """(T_image [3, 3], T_plane [3, 3]): the similarities applied before the DLT."""
    t_image = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) / IMAGE_SCALE
    t_image = t_image.at[:2, 2].set(-center / IMAGE_SCALE).at[2, 2].set(1.0)
    t_plane = jnp.diag(jnp.stack([1.0 / plane_scale, 1.0 / plane_scale, jnp.ones_like(plane_scale)]))
    return t_image, t_plane


def _dlt_rows(data: Correspondences, t_image, t_plane) -> jax.Array:
    """Rows [C, 3, 9] of the linear system A h = 0 in normalised coordinates (h = H row-major)."""
    point_plane = data.plane_xy @ t_plane.T
    point_image = data.image_xy @ t_image.T
    # Lines transform with the inverse transpose; unit normals keep the rows balanced.
    line_plane = data.plane_xy @ inverse3(t_plane)
    line_image = data.image_xy @ inverse3(t_image)
    line_plane = line_plane / jnp.linalg.norm(line_plane[..., :2], axis=-1, keepdims=True).clip(1e-9)
    line_image = line_image / jnp.linalg.norm(line_image[..., :2], axis=-1, keepdims=True).clip(1e-9)
    # Points: x' x (H x) = [x']_x (I kron x^T) h.
    kron_point = jnp.einsum("ij,ck->cijk", jnp.eye(3), point_plane).reshape(-1, 3, 9)
    point_rows = jnp.einsum("cij,cjk->cik", _cross_matrix(point_image), kron_point)
    # Lines: L x (H^T l) = [L]_x (l^T kron I) h.
    kron_line = jnp.einsum("ci,jk->cjik", line_image, jnp.eye(3)).reshape(-1, 3, 9)
    line_rows = jnp.einsum("cij,cjk->cik", _cross_matrix(line_plane), kron_line)
    rows = jnp.where((data.kind == 0)[:, None, None], point_rows, line_rows)
    return jnp.where(jnp.isfinite(rows), rows, 0.0)


def _solve_dlt(rows: jax.Array, weight: jax.Array, t_image, t_plane) -> jax.Array:
    """The homography [3, 3] (pixels <- plane) minimising the weighted algebraic error."""
    system = (rows * weight[:, None, None]).reshape(-1, 9)
    _, _, vt = jnp.linalg.svd(system, full_matrices=False)
    normalised = vt[-1].reshape(3, 3)
    return inverse3(t_image) @ normalised @ t_plane


def transfer_errors(homography: jax.Array, data: Correspondences) -> jax.Array:
    """Pixel errors [C] of every correspondence under a homography (no lens distortion).

    A point: distance between its pixel and its projected plane point. A line: the larger
    distance of its two extreme observed pixels to the projected plane line H^-T L.
    """
    projected = data.plane_xy @ homography.T
    pixel = projected[:, :2] / jnp.where(jnp.abs(projected[:, 2:]) > 1e-12, projected[:, 2:], 1e-12)
    point_error = jnp.linalg.norm(pixel - data.image_xy[:, :2], axis=-1)
    image_line = data.plane_xy @ inverse3(homography)
    norm = jnp.linalg.norm(image_line[:, :2], axis=-1).clip(1e-12)
    ends = jnp.concatenate([data.ends, jnp.ones(data.ends.shape[:-1] + (1,))], -1)
    line_error = jnp.max(jnp.abs(jnp.einsum("cej,cj->ce", ends, image_line)), axis=-1) / norm
    error = jnp.where(data.kind == 0, point_error, line_error)
    return jnp.where(jnp.isfinite(error), error, jnp.inf)


def ransac_homographies(
    data: Correspondences,
    key: jax.Array,
    *,
    center: jax.Array,
    plane_scale: jax.Array,
    thresholds: jax.Array,
    hypotheses: int,
) -> tuple[jax.Array, jax.Array]:
    """One refitted homography per RANSAC threshold [T]: ([T, 3, 3], inlier weight sums [T]).

    Minimal sets of 4 correspondences are drawn without replacement among the non-empty ones
    (Gumbel top-k). An image with fewer than 4 correspondences gets meaningless homographies
    and inlier sums that say so (<= 3).
    """
    t_image, t_plane = _normalisers(center, plane_scale)
    rows = _dlt_rows(data, t_image, t_plane)
    present = data.weight > 0
    gumbel = jax.random.gumbel(key, (hypotheses, data.weight.shape[0]))
    scores = jnp.where(present[None], gumbel, -jnp.inf)
    _, chosen = jax.lax.top_k(scores, 4)  # [M, 4]
    chosen_rows = rows[chosen].reshape(hypotheses, 12, 9)
    _, _, vt = jnp.linalg.svd(chosen_rows, full_matrices=False)
    candidates = inverse3(t_image) @ vt[:, -1].reshape(-1, 3, 3) @ t_plane  # [M, 3, 3]
    errors = jax.vmap(transfer_errors, in_axes=(0, None))(candidates, data)  # [M, C]

    def refit(threshold):
        inliers = (errors < threshold) & present[None]
        count = jnp.sum(jnp.where(inliers, data.weight[None], 0.0), axis=-1)
        best = jnp.argmax(count)
        homography = _solve_dlt(rows, jnp.where(inliers[best], data.weight, 0.0), t_image, t_plane)
        refit_inliers = (transfer_errors(homography, data) < threshold) & present
        return homography, jnp.sum(jnp.where(refit_inliers, data.weight, 0.0))

    return jax.vmap(refit)(thresholds)


def camera_from_homography(
    homography: jax.Array,
    *,
    center: jax.Array,
    plane_origin: jax.Array,
    plane_axes: jax.Array,
    focal_range: tuple[float, float],
    default_focal: float,
) -> dict[str, jax.Array]:
    """Pan, tilt, roll (radians), position [3] and focal length of a plane homography.

    homography [3, 3]: undistorted pixels <- plane coordinates (a, b, 1) of the world points
    plane_origin + a * plane_axes[0] + b * plane_axes[1]; principal point `center` [2], square
    pixels. The focal length is the least-squares solution of the two constraints on 1 / f^2,
    clipped to `focal_range` (`default_focal` when they give no positive solution).
    """
    shift = jnp.eye(3).at[:2, 2].set(-center)
    h = shift @ homography
    h = h / jnp.linalg.norm(h[:, :2])
    h1, h2 = h[:, 0], h[:, 1]
    # r = K^-1 h = (h_x / f, h_y / f, h_z): r1 . r2 = 0 and |r1| = |r2|, linear in w = 1 / f^2.
    a1, b1 = h1[0] * h2[0] + h1[1] * h2[1], h1[2] * h2[2]
    a2 = h1[0] ** 2 + h1[1] ** 2 - h2[0] ** 2 - h2[1] ** 2
    b2 = h1[2] ** 2 - h2[2] ** 2
    w = -(a1 * b1 + a2 * b2) / jnp.maximum(a1 * a1 + a2 * a2, 1e-30)
    focal = jnp.where(w > 0, 1.0 / jnp.sqrt(jnp.maximum(w, 1e-30)), default_focal)
    focal = jnp.clip(focal, *focal_range)
    k_inverse = jnp.diag(jnp.array([1.0, 1.0, 0.0]) / focal + jnp.array([0.0, 0.0, 1.0]))
    r1, r2, t = k_inverse @ h1, k_inverse @ h2, k_inverse @ h[:, 2]
    scale = 2.0 / (jnp.linalg.norm(r1) + jnp.linalg.norm(r2))
    scale = jnp.where(t[2] * scale < 0, -scale, scale)  # the plane's origin in front
    r1, r2, t = r1 * scale, r2 * scale, t * scale
    # [r1 r2 r1 x r2] = R [a_axis b_axis normal]: the rotation, made orthonormal.
    seen_axes = jnp.stack([r1, r2, jnp.cross(r1, r2)], -1)
    normal = jnp.cross(plane_axes[0], plane_axes[1])
    world_axes = jnp.stack([plane_axes[0], plane_axes[1], normal], -1)
    u, _, vt = jnp.linalg.svd(seen_axes @ world_axes.T)
    rotation = u @ jnp.diag(jnp.array([1.0, 1.0, jnp.linalg.det(u @ vt)])) @ vt
    position = plane_origin - rotation.T @ t
    pan, tilt, roll = camera_lib.pan_tilt_roll_from_rotation(rotation, xp=jnp)
    return {"pan": pan, "tilt": tilt, "roll": roll, "position": position, "focal": focal}
