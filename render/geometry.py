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
