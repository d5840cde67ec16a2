"""Where the cards of one image lie (pure numpy): scattered, in a row, in a fan, in a pile.

Each arrangement gives every card a centre and a yaw on the table (metres, radians). Cards
are then stacked in the order drawn: a card whose footprint overlaps earlier ones lies one
level (``STEP``, a fraction of a millimetre) above the highest of them, so nothing
intersects or z-fights, and a card that a later one overlaps is ``covered`` and must stay
flat. A fan is what a hand holds: one pivot near the cards' lower ends, each card turned
clockwise from the one below it, so every card's top-left index stays in view; a row is
the spread of a dealt hand on the table; a pile keeps at least one corner index of every
card uncovered.
"""
from __future__ import annotations

import math

import numpy as np

CARD_W, CARD_H, CARD_T, CORNER_R = 0.063, 0.088, 0.0003, 0.0032
STEP = CARD_T + 0.00015  # height between overlapping cards
INDEX_AT = (0.0055, 0.0095)  # a corner index's centre, measured in from the card's corner
ARRANGEMENTS = ("scatter", "row", "fan", "pile")
TRIES = 40

Pose = tuple[float, float, float]  # x, y, yaw


def _axes(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, s], [-s, c]])  # the card's x and y axes in the table plane


def corners(p: Pose, margin: float = 0.0) -> np.ndarray:
    ax = _axes(p[2])
    hx, hy = CARD_W / 2 + margin, CARD_H / 2 + margin
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    return np.array(p[:2]) + (signs * [hx, hy]) @ ax


def overlaps(a: Pose, b: Pose, margin: float = 0.0005) -> bool:
    """Whether two card footprints (rotated rectangles, grown by ``margin``) overlap (separating axes)."""
    ca, cb = corners(a, margin), corners(b, margin)
    for axis in np.concatenate([_axes(a[2]), _axes(b[2])]):
        pa, pb = ca @ axis, cb @ axis
        if pa.max() < pb.min() or pb.max() < pa.min():
            return False
    return True


def covers(p: Pose, point: np.ndarray) -> bool:
    """Whether the card at ``p`` lies over ``point`` (table coordinates)."""
    local = _axes(p[2]) @ (np.asarray(point) - np.array(p[:2]))
    return abs(local[0]) <= CARD_W / 2 and abs(local[1]) <= CARD_H / 2


def index_points(p: Pose) -> np.ndarray:
    """Table positions of the card's two corner indices (top-left, bottom-right)."""
    dx, dy = CARD_W / 2 - INDEX_AT[0], CARD_H / 2 - INDEX_AT[1]
    return np.array(p[:2]) + np.array([[-dx, dy], [dx, -dy]]) @ _axes(p[2])


def _disc(rng, radius: float) -> np.ndarray:
    r, t = radius * math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
    return np.array([r * math.cos(t), r * math.sin(t)])


def scatter(rng, n: int, cfg, area: float) -> list[Pose]:
    """Loose cards at any yaw, apart where the area allows (else they overlap and stack)."""
    radius = area * float(rng.uniform(0.35, 1.0)) * math.sqrt(n / 6)
    out: list[Pose] = []
    for _ in range(n):
        for _ in range(TRIES):
            xy = _disc(rng, radius)
            cand = (float(xy[0]), float(xy[1]), float(rng.uniform(0, 2 * math.pi)))
            if not any(overlaps(cand, q, 0.003) for q in out):
                break
        out.append(cand)
    return out


def row(rng, n: int, cfg, area: float) -> list[Pose]:
    """A dealt hand spread on the table: each card shifted along its x axis, over the previous."""
    step = float(rng.uniform(*cfg.row_offset_mm)) / 1000
    yaw = float(rng.uniform(0, 2 * math.pi))
    out = []
    for k in range(n):
        local = np.array([(k - (n - 1) / 2) * step, rng.normal(0, 0.0015)])
        xy = local @ _axes(yaw)
        out.append((float(xy[0]), float(xy[1]), yaw + float(rng.uniform(-0.05, 0.05))))
    return out


def fan(rng, n: int, cfg, area: float) -> list[Pose]:
    """A hand of cards: one pivot near the lower ends, each card turned clockwise over the last."""
    spread = math.radians(float(rng.uniform(*cfg.fan_spread_deg)))
    reach = CARD_H / 2 - float(rng.uniform(0.008, 0.022))  # pivot to card centre
    yaw = float(rng.uniform(0, 2 * math.pi))
    out = []
    for k in range(n):
        a = yaw + ((n - 1) / 2 - k) * spread + float(rng.uniform(-0.015, 0.015))
        xy = np.array([rng.normal(0, 0.001), reach]) @ _axes(a)
        out.append((float(xy[0]), float(xy[1]), a))
    centre = np.mean([p[:2] for p in out], 0)
    return [(x - centre[0], y - centre[1], a) for x, y, a in out]


def indices_visible(cards: list[Pose]) -> bool:
    """Whether every card keeps at least one corner index that no card above it covers."""
    for i, p in enumerate(cards):
        above = cards[i + 1:]
        if above and all(any(covers(c, q) for c in above) for q in index_points(p)):
            return False
    return True


def pile(rng, n: int, cfg, area: float) -> list[Pose]:
    """Cards dropped on each other at any yaw; each keeps one corner index in view where it can."""
    out: list[Pose] = []
    for _ in range(n):
        for _ in range(TRIES):
            xy = _disc(rng, 0.035)
            cand = (float(xy[0]), float(xy[1]), float(rng.uniform(0, 2 * math.pi)))
            if indices_visible(out + [cand]):
                break
        out.append(cand)
    return out


ARRANGERS = {"scatter": scatter, "row": row, "fan": fan, "pile": pile}


def stacking(poses: list[Pose]) -> tuple[list[int], list[bool]]:
    """Each card's level (0 on the table) and whether a later card lies over it."""
    levels: list[int] = []
    covered = [False] * len(poses)
    for k, p in enumerate(poses):
        below = [j for j in range(k) if overlaps(poses[j], p)]
        for j in below:
            covered[j] = True
        levels.append(1 + max(levels[j] for j in below) if below else 0)
    return levels, covered


def _choose(rng, weights: dict[str, float]) -> str:
    keys = [k for k in ARRANGEMENTS if float(weights.get(k, 0.0)) > 0]
    p = np.array([float(weights[k]) for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def plan_layout(rng, classes: list[str], cfg, area: float):
    """``(layout, covered, levels)``: ``layout`` as SceneKind.arrange returns it, (cls, [x, y, z], yaw)."""
    n = len(classes)
    how = _choose(rng, dict(cfg.arrangement_weights)) if n > 1 else "scatter"
    poses = ARRANGERS[how](rng, n, cfg, area)
    levels, covered = stacking(poses)
    shift = _disc(rng, area * 0.25)
    layout = [(cls, [x + shift[0], y + shift[1], lvl * STEP], yaw)
              for cls, (x, y, yaw), lvl in zip(classes, poses, levels)]
    return layout, covered, levels
