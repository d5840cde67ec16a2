"""Boxes of a sampled scene without rendering: each target's mesh projected through the camera.

The scene fit (render/fit.py) scores thousands of candidate scenes by their label
statistics; rendering each is out of the question, so the boxes come from the scene
description alone (``sample_image``'s meta). A box is the extent of the object's projected
convex hull (exact for the whole object: the extremes of a projected point set are
projections of its hull's vertices), clipped to the frame. It is the *amodal* box: an
object hidden behind another keeps its whole box, where the render's label is the visible
part. ``scripts/bench_projection.py`` measures that difference against rendered labels.

The camera follows ``render/blender/studio.py``: Blender's ``to_track_quat("-Z", "Y")``
towards ``look_at``, then ``roll_deg`` about the view axis; the lens as in
``render/occlusion.py::project``.
"""
from __future__ import annotations

import math

import numpy as np

from render.occlusion import project
from render.sampling import euler_matrix


def camera_matrix(camera: dict) -> np.ndarray:
    """4x4 world matrix of the camera of a meta's ``camera`` entry."""
    loc = np.asarray(camera["location"], float)
    forward = np.asarray(camera["look_at"], float) - loc
    forward /= np.linalg.norm(forward)
    z = -forward
    # Blender's to_track_quat(-Z, Y): the up axis is world Z projected off the view axis
    up = np.array([0.0, 0.0, 1.0]) - z[2] * z
    if np.linalg.norm(up) < 1e-9:  # looking straight down or up: Blender keeps world Y
        up = np.array([0.0, 1.0, 0.0]) - z[1] * z
    y = up / np.linalg.norm(up)
    x = np.cross(y, z)
    roll = math.radians(float(camera.get("roll_deg", 0.0)))
    c, s = math.cos(roll), math.sin(roll)
    track = np.stack([x, y, z], 1)
    rot = track @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rot, loc
    return out


def object_matrix(obj: dict) -> np.ndarray:
    """4x4 world matrix (location, XYZ Euler, uniform scale) of a meta's object entry."""
    out = np.eye(4)
    out[:3, :3] = euler_matrix(obj["rotation_euler"]) * float(obj["scale"])
    out[:3, 3] = obj["location"]
    return out


def hull_points(verts: np.ndarray) -> np.ndarray:
    """The vertices of the convex hull (all of them when the hull is degenerate, e.g. flat)."""
    from scipy.spatial import ConvexHull, QhullError

    if len(verts) <= 64:
        return verts
    try:
        return verts[ConvexHull(verts).vertices]
    except (QhullError, ValueError):
        return verts


def box_of(points: np.ndarray, cam_world: np.ndarray, camera: dict, frame: tuple[int, int]) -> np.ndarray | None:
    """Clipped xyxy box of world ``points`` in pixels, or None when nothing lies in view."""
    # a rigid camera's inverse in closed form: numpy's general inverse costs a millisecond
    # under a busy BLAS, which made it the fit's hottest line
    rot, loc = cam_world[:3, :3], cam_world[:3, 3]
    view = np.eye(4)
    view[:3, :3], view[:3, 3] = rot.T, -rot.T @ loc
    uvz = project(points, view, camera["focal_mm"], camera["sensor_mm"], frame,
                  tuple(camera.get("shift", (0.0, 0.0))), inverse=False)
    front = uvz[uvz[:, 2] > 1e-6]
    if not len(front):
        return None
    w, h = frame
    x0, y0 = max(front[:, 0].min(), 0.0), max(front[:, 1].min(), 0.0)
    x1, y1 = min(front[:, 0].max(), float(w)), min(front[:, 1].max(), float(h))
    if x1 <= x0 or y1 <= y0:
        return None
    return np.array([x0, y0, x1, y1])


def instance_boxes(meta: dict, geometry: dict[int, np.ndarray], hulls: dict[str, np.ndarray],
                   frame: tuple[int, int]) -> dict[int, tuple[np.ndarray, str]]:
    """Each target in view: instance id -> (clipped xyxy box in pixels, class name)."""
    cam = meta["camera"]
    cam_world = camera_matrix(cam)
    out = {}
    for k, obj in enumerate(meta["objects"]):
        local = hull_points(geometry[k]) if k in geometry else hulls[obj["class"]]
        m = object_matrix(obj)
        box = box_of(local @ m[:3, :3].T + m[:3, 3], cam_world, cam, frame)
        if box is not None:
            out[obj["instance_id"]] = (box, obj["class"])
    return out


def projected_boxes(meta: dict, geometry: dict[int, np.ndarray], hulls: dict[str, np.ndarray],
                    frame: tuple[int, int], min_px: float = 4.0) -> tuple[np.ndarray, list[str]]:
    """Boxes (N, 4) and class names of the targets of one sampled image; boxes under
    ``min_px`` pixels of area are left out, as the renderer leaves out tiny instances."""
    return large_enough(instance_boxes(meta, geometry, hulls, frame), min_px)


def large_enough(instances: dict[int, tuple[np.ndarray, str]], min_px: float) -> tuple[np.ndarray, list[str]]:
    """Boxes (N, 4) and class names of ``instance_boxes`` with at least ``min_px`` pixels of area."""
    kept = [(b, c) for b, c in instances.values() if (b[2] - b[0]) * (b[3] - b[1]) >= min_px]
    return np.asarray([b for b, _ in kept], float).reshape(-1, 4), [c for _, c in kept]
