"""Meshes as numpy arrays (no bpy): revolved profiles, boxes, tori, and their deformations.

Building geometry in numpy keeps it testable without Blender, makes dents and crushes a
vertex-array operation (written to Blender with one ``foreach_set``), and gives each class
its exact footprint for collision-free placement. Sharp edges come from duplicated profile
points (split vertices), so every face can be smooth-shaded.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Mesh:
    """Vertices (N,3) centred on their bounding box, faces as index lists (tris or quads)."""

    verts: np.ndarray
    faces: list[tuple[int, ...]]
    smooth: bool = True

    @property
    def radius_xy(self) -> float:
        return float(np.linalg.norm(self.verts[:, :2], axis=1).max())

    @property
    def height(self) -> float:
        return float(np.ptp(self.verts[:, 2]))

    @property
    def radius(self) -> float:
        return float(np.linalg.norm(self.verts, axis=1).max())

    def centred(self) -> "Mesh":
        lo, hi = self.verts.min(0), self.verts.max(0)
        return Mesh(self.verts - (lo + hi) / 2, self.faces, self.smooth)

    def scaled(self, s: float | np.ndarray) -> "Mesh":
        return Mesh(self.verts * s, self.faces, self.smooth)


def revolve(profile: list[tuple[float, float]], segments: int = 32) -> Mesh:
    """Revolve (r, z) points about the z axis. r=0 ends close the solid with a pole vertex.

    A point repeated twice makes a hard edge (the two copies are separate vertex rings).
    """
    verts: list[np.ndarray] = []
    rings: list[list[int] | int] = []
    theta = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    for r, z in profile:
        if r <= 1e-9:
            rings.append(len(verts))
            verts.append(np.array([0.0, 0.0, z]))
        else:
            start = len(verts)
            verts.extend(np.stack([r * np.cos(theta), r * np.sin(theta), np.full(segments, z)], 1))
            rings.append(list(range(start, start + segments)))
    faces: list[tuple[int, ...]] = []
    for k, (a, b) in enumerate(zip(rings[:-1], rings[1:])):
        if (isinstance(a, int) and isinstance(b, int)) or profile[k] == profile[k + 1]:
            continue  # pole to pole, or a repeated point (the hard edge between two rings)
        for i in range(segments):
            j = (i + 1) % segments
            if isinstance(a, int):
                faces.append((a, b[j], b[i]))
            elif isinstance(b, int):
                faces.append((a[i], a[j], b))
            else:
                faces.append((a[i], a[j], b[j], b[i]))
    return Mesh(np.asarray(verts, float), faces).centred()


def box(size=(1.0, 1.0, 1.0), subdiv: int = 4) -> Mesh:
    """An axis-aligned box with each face an n x n grid of quads (enough to dent)."""
    n = subdiv
    g = np.linspace(-0.5, 0.5, n + 1)
    verts, faces = [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            u_ax, v_ax = [a for a in range(3) if a != axis]
            start = len(verts)
            for u in g:
                for v in g:
                    p = np.zeros(3)
                    p[axis], p[u_ax], p[v_ax] = sign * 0.5, u, v
                    verts.append(p)
            for i in range(n):
                for j in range(n):
                    a = start + i * (n + 1) + j
                    quad = (a, a + n + 1, a + n + 2, a + 1)
                    faces.append(quad if sign > 0 else quad[::-1])
    v = np.asarray(verts) * np.asarray(size, float)
    # Orient outward consistently for the two sign cases of each axis permutation.
    return Mesh(v, _orient_outward(v, faces), smooth=True)


def _orient_outward(verts: np.ndarray, faces: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    out = []
    for f in faces:
        p = verts[list(f)]
        n = np.cross(p[1] - p[0], p[2] - p[0])
        out.append(f if np.dot(n, p.mean(0)) >= 0 else f[::-1])
    return out


def torus(major: float = 0.4, minor: float = 0.12, seg: int = 32, ring: int = 12) -> Mesh:
    u = np.linspace(0, 2 * np.pi, seg, endpoint=False)
    v = np.linspace(0, 2 * np.pi, ring, endpoint=False)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    x = (major + minor * np.cos(vv)) * np.cos(uu)
    y = (major + minor * np.cos(vv)) * np.sin(uu)
    z = minor * np.sin(vv)
    verts = np.stack([x, y, z], -1).reshape(-1, 3)
    faces = []
    for i in range(seg):
        for j in range(ring):
            a, b = i * ring + j, ((i + 1) % seg) * ring + j
            c, d = ((i + 1) % seg) * ring + (j + 1) % ring, i * ring + (j + 1) % ring
            faces.append((a, b, c, d))
    return Mesh(verts, _orient_outward(verts, faces)).centred()


def cylinder_profile(radius: float, height: float, bevel: float = 0.0) -> list[tuple[float, float]]:
    h = height / 2
    if bevel <= 0:
        return [(0, -h), (radius, -h), (radius, -h), (radius, h), (radius, h), (0, h)]
    b = bevel
    return [(0, -h), (radius - b, -h), (radius, -h + b), (radius, h - b), (radius - b, h), (0, h)]


def sphere(radius: float = 0.5, rings: int = 16) -> Mesh:
    phi = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    return revolve([(radius * np.cos(p), radius * np.sin(p)) for p in phi])


def merge(*meshes: Mesh) -> Mesh:
    verts, faces, off = [], [], 0
    for m in meshes:
        verts.append(m.verts)
        faces.extend(tuple(i + off for i in f) for f in m.faces)
        off += len(m.verts)
    return Mesh(np.concatenate(verts), faces).centred()


def translated(m: Mesh, offset) -> Mesh:
    return Mesh(m.verts + np.asarray(offset, float), m.faces, m.smooth)


def dent(verts: np.ndarray, rng: np.random.Generator, *, count: int, depth: float, width: float) -> np.ndarray:
    """Push vertices near ``count`` random surface points towards the centre (Gaussian falloff).

    Duplicated (split) vertices share a position, so they move together and no crack opens.
    """
    out = verts.copy()
    size = float(np.ptp(verts, axis=0).max())
    centre = np.zeros(3)
    for _ in range(count):
        c = verts[rng.integers(len(verts))]
        w = np.exp(-np.sum((verts - c) ** 2, 1) / (width * size) ** 2)
        inward = centre - verts
        inward /= np.linalg.norm(inward, axis=1, keepdims=True) + 1e-9
        out += inward * (depth * size * w)[:, None]
    return out


def crush(verts: np.ndarray, rng: np.random.Generator, *, amount: float) -> np.ndarray:
    """Axial crush: shorten along z, bulge and wrinkle the wall (a stepped-on can)."""
    out = verts.copy()
    z = out[:, 2]
    h = float(np.ptp(z)) or 1.0
    t = (z - z.min()) / h
    out[:, 2] = z * (1 - amount)
    theta = np.arctan2(out[:, 1], out[:, 0])
    k = int(rng.integers(3, 7))
    phase = rng.uniform(0, 2 * np.pi)
    wrinkle = 1 + amount * (0.35 * np.sin(np.pi * t) + 0.25 * np.sin(k * theta + phase) * np.sin(2 * np.pi * t))
    out[:, :2] *= wrinkle[:, None]
    return out


def _plate_columns(width: float, radius: float, arc: int, cells: int) -> np.ndarray:
    """Column x positions of a rounded plate: the corner arcs' points plus even inner columns."""
    theta = np.linspace(0.0, np.pi / 2, arc + 1)
    left = -width / 2 + radius - radius * np.cos(theta)
    inner = np.linspace(-width / 2 + radius, width / 2 - radius, cells + 1)[1:-1]
    return np.concatenate([left, inner, -left[::-1]])


def rounded_plate(width: float, height: float, thickness: float, radius: float, arc: int = 6,
                  cells: tuple[int, int] = (8, 10)) -> Mesh:
    """A thin plate with rounded corners in the xy plane (a playing card), centred on the origin.

    Top (+z) and bottom faces are grids of quads, one column per corner-arc point plus
    ``cells[0]`` even columns, ``cells[1]`` rows each, so a bend (``bend``) deforms them
    smoothly. The side wall has its own vertices: a hard edge at both rims, smooth around
    the corners, and every top vertex's normal is exactly +z.
    """
    xs = _plate_columns(width, radius, arc, cells[0])
    over = np.maximum(np.abs(xs) - (width / 2 - radius), 0.0)
    half = height / 2 - radius + np.sqrt(np.maximum(radius**2 - over**2, 0.0))
    t = np.linspace(-1.0, 1.0, cells[1] + 1)
    nx, ny = len(xs), len(t)
    grid = np.stack([np.repeat(xs, ny), (half[:, None] * t[None, :]).ravel()], 1)  # column-major (i, j)
    verts, faces = [], []
    for z in (thickness / 2, -thickness / 2):
        start = len(verts)
        verts.extend(np.column_stack([grid, np.full(len(grid), z)]))
        for i in range(nx - 1):
            for j in range(ny - 1):
                a = start + i * ny + j
                faces.append((a, a + ny, a + ny + 1, a + 1))
    ring = [i * ny for i in range(nx)] + [(nx - 1) * ny + j for j in range(1, ny)]
    ring += [i * ny + ny - 1 for i in range(nx - 2, -1, -1)] + [j for j in range(ny - 2, 0, -1)]
    outline = grid[ring]
    start = len(verts)
    for z in (thickness / 2, -thickness / 2):
        verts.extend(np.column_stack([outline, np.full(len(outline), z)]))
    n = len(outline)
    for k in range(n):
        faces.append((start + k, start + (k + 1) % n, start + n + (k + 1) % n, start + n + k))
    v = np.asarray(verts, float)
    return Mesh(v, _orient_outward(v, faces))


def bend(verts: np.ndarray, sag: float, axis: int) -> np.ndarray:
    """A slight cylindrical bend: z rises by ``sag`` * (2 c / extent)^2 along ``axis`` (0 x, 1 y).

    Positive ``sag`` lifts the ends (a card curling up), negative lifts the middle. x and y
    stay put, so a texture mapped from object x, y does not slide.
    """
    out = verts.copy()
    c = verts[:, axis]
    half = float(np.ptp(c)) / 2 or 1.0
    out[:, 2] += sag * (c / half) ** 2
    return out
