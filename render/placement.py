"""Collision-free placement of footprints (pure numpy) and the up-front feasibility check.

Objects are discs on the ground (or spheres when flying). Rejection sampling is exact and
fast for the handful of objects a picture holds; when it cannot succeed the error says
which keys to change, in one line.
"""
from __future__ import annotations

import math

import numpy as np

from sim2real.errors import ConfigError

PACKING = 0.55  # random disc packing density that rejection sampling reliably reaches


def check_feasible(count: int, radius: float, area_radius: float, gap: float, what: str) -> None:
    """Refuse configs whose largest draw cannot fit: ``count`` discs of ``radius`` in the area."""
    need = count * math.pi * (radius + gap / 2) ** 2
    have = math.pi * (area_radius + radius) ** 2 * PACKING
    if count > 1 and need > have:
        raise ConfigError(
            f"impossible placement: {count} {what} of radius {radius:.2f} do not fit on a ground of "
            f"radius {area_radius:.2f} (scene.objects.placement.area_radius); lower scene.objects.count "
            f"or scene.objects.scale, or raise area_radius"
        )


def sample_disc(rng: np.random.Generator, radius: float) -> np.ndarray:
    r = radius * math.sqrt(rng.uniform())
    t = rng.uniform(0, 2 * math.pi)
    return np.array([r * math.cos(t), r * math.sin(t)])


class Placer:
    """Keeps the occupied discs/spheres and finds free spots by rejection sampling."""

    def __init__(self, rng: np.random.Generator, area_radius: float, gap: float, attempts: int) -> None:
        self.rng, self.area, self.gap, self.attempts = rng, area_radius, gap, attempts
        self.centres: list[np.ndarray] = []
        self.radii: list[float] = []

    def _free(self, p: np.ndarray, r: float) -> bool:
        for c, rc in zip(self.centres, self.radii):
            if np.linalg.norm(p[: len(c)] - c[: len(p)]) < r + rc + self.gap:
                return False
        return True

    def add(self, p: np.ndarray, r: float) -> None:
        self.centres.append(np.asarray(p, float))
        self.radii.append(float(r))

    def on_ground(self, r: float, centre=(0.0, 0.0), area: float | None = None) -> np.ndarray | None:
        """A free (x, y) for a disc of radius ``r`` or None after ``attempts`` tries."""
        area = self.area if area is None else area
        for _ in range(self.attempts):
            p = np.asarray(centre, float) + sample_disc(self.rng, area)
            if self._free(p, r):
                self.add(p, r)
                return p
        return None

    def flying(self, r: float, z_range) -> np.ndarray | None:
        for _ in range(self.attempts):
            p = np.append(sample_disc(self.rng, self.area), self.rng.uniform(*z_range) + r)
            if self._free(p, r):
                self.add(p[:2], r)
                return p
        return None
