"""Suit symbols and index glyphs of playing cards as polygons (numpy + PIL), no fonts.

Suits are unions of polygons in a unit box (height 1, centred, y up): heart (the classic
parametric curve), diamond (slightly concave sides), spade (a heart upside down on a flared
stem), club (three lobes on a flared stem). Index glyphs ``A K Q J 10 9`` are built from
strokes with thick stems and thin hairlines plus serifs, the way card indices are printed;
drawing them ourselves keeps every machine's cards identical, whatever fonts it has.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import ImageDraw

Polys = list[np.ndarray]


def _fit(polys: Polys) -> Polys:
    """Centre the union's bounding box on the origin and scale it to height 1."""
    allp = np.concatenate(polys)
    lo, hi = allp.min(0), allp.max(0)
    mid, h = (lo + hi) / 2, hi[1] - lo[1]
    return [(p - mid) / h for p in polys]


def _circle(cx: float, cy: float, r: float, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)


def _heart_curve(n: int = 120) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    return np.stack([x, y], 1) / 30.0


def _stem(top: float, bottom: float, half_top: float, half_bottom: float, n: int = 16) -> np.ndarray:
    """A flared foot: narrow at ``top``, wide at ``bottom``, sides curving inwards."""
    s = np.linspace(0, 1, n)
    y = top + (bottom - top) * s
    half = half_top + (half_bottom - half_top) * s ** 2.2
    return np.concatenate([np.stack([-half, y], 1), np.stack([half[::-1], y[::-1]], 1)])


def heart() -> Polys:
    p = _heart_curve()
    return _fit([p * np.array([1.0, 1.08])])


def diamond(width: float = 0.74, bow: float = 0.1) -> Polys:
    """Four points joined by slightly concave sides (quadratic curves bowed towards the centre)."""
    pts = [(0.0, 0.5), (width / 2, 0.0), (0.0, -0.5), (-width / 2, 0.0)]
    out = []
    s = np.linspace(0, 1, 12, endpoint=False)[:, None]
    for a, b in zip(pts, pts[1:] + pts[:1]):
        a, b = np.asarray(a), np.asarray(b)
        ctrl = (a + b) / 2 * (1 - bow * 2)
        out.append((1 - s) ** 2 * a + 2 * (1 - s) * s * ctrl + s ** 2 * b)
    return [np.concatenate(out)]


def spade() -> Polys:
    blade = _heart_curve() * np.array([1.02, -1.12])  # upside down: the point at the top
    blade[:, 1] += 0.12
    low = blade[:, 1].min()
    return _fit([blade, _stem(low + 0.2, low - 0.26, 0.035, 0.2)])


def club() -> Polys:
    r = 0.235
    lobes = [_circle(0.0, 0.27, r), _circle(-0.255, -0.09, r), _circle(0.255, -0.09, r)]
    core = np.array([[0.0, 0.2], [-0.2, -0.12], [0.2, -0.12]])
    return _fit(lobes + [core, _stem(-0.05, -0.62, 0.04, 0.2)])


SUIT_SHAPES = {"spades": spade, "hearts": heart, "diamonds": diamond, "clubs": club}


def suit_polys(suit: str) -> Polys:
    return SUIT_SHAPES[suit]()


def place(polys: Polys, cx: float, cy: float, height: float, *, upside_down: bool = False,
          squash: float = 1.0) -> Polys:
    """Unit-box polygons (y up) to pixel polygons (y down) of ``height`` px centred on (cx, cy)."""
    sign = -1.0 if upside_down else 1.0
    return [np.stack([cx + sign * p[:, 0] * height * squash, cy - sign * p[:, 1] * height], 1) for p in polys]


def fill(draw: ImageDraw.ImageDraw, polys: Polys, colour) -> None:
    for p in polys:
        draw.polygon([tuple(q) for q in p], fill=colour)


def outline(draw: ImageDraw.ImageDraw, polys: Polys, colour, width: int) -> None:
    for p in polys:
        pts = [tuple(q) for q in p]
        draw.line(pts + pts[:1], fill=colour, width=width, joint="curve")


def shrunk(polys: Polys, factor: float) -> Polys:
    """The polygons scaled about the union's bounding-box centre (an inset outline)."""
    allp = np.concatenate(polys)
    mid = (allp.min(0) + allp.max(0)) / 2
    return [(p - mid) * factor + mid for p in polys]


# ----------------------------------------------------------------------------- glyphs
class Pen:
    """Strokes in a glyph box (u right, v down, both 0..1) mapped onto a pixel rectangle.

    ``weight`` scales every stroke's thickness (a deck style's bold or light face).
    """

    def __init__(self, draw: ImageDraw.ImageDraw, x0: float, y0: float, w: float, h: float, weight: float,
                 colour) -> None:
        self.draw, self.x0, self.y0, self.w, self.h = draw, x0, y0, w, h
        self.weight, self.colour = weight, colour

    def _p(self, u: float, v: float) -> tuple[float, float]:
        return self.x0 + u * self.w, self.y0 + v * self.h

    def poly(self, pts) -> None:
        self.draw.polygon([self._p(u, v) for u, v in pts], fill=self.colour)

    def stem(self, top: tuple[float, float], bottom: tuple[float, float], width: float) -> None:
        """A stroke from ``top`` to ``bottom`` of horizontal thickness ``width`` (glyph heights)."""
        d = width * self.weight * self.h / self.w / 2
        (u0, v0), (u1, v1) = top, bottom
        self.poly([(u0 - d, v0), (u0 + d, v0), (u1 + d, v1), (u1 - d, v1)])

    def bar(self, v: float, u0: float, u1: float, height: float) -> None:
        """A horizontal bar (a serif, a crossbar) of vertical thickness ``height``."""
        d = height * self.weight / 2
        self.poly([(u0, v - d), (u1, v - d), (u1, v + d), (u0, v + d)])

    def ring(self, cu: float, cv: float, ru: float, rv: float, side: float, top: float) -> None:
        """An elliptical bowl: thick at the sides (``side``), thin at top and bottom (``top``)."""
        su, sv = side * self.weight * self.h / self.w, top * self.weight
        self._ellipse(cu, cv, ru, rv, self.colour)
        self._ellipse(cu, cv, max(ru - su, 0.01), max(rv - sv, 0.01), None)

    def _ellipse(self, cu, cv, ru, rv, colour) -> None:
        (x0, y0), (x1, y1) = self._p(cu - ru, cv - rv), self._p(cu + ru, cv + rv)
        self.draw.ellipse([x0, y0, x1, y1], fill=colour if colour is not None else (0, 0, 0, 0))

    def arc(self, cu: float, cv: float, ru: float, rv: float, a0: float, a1: float, w0: float, w1: float) -> None:
        """An elliptical arc (degrees, clockwise on screen from +u) whose thickness goes w0 -> w1."""
        t = np.radians(np.linspace(a0, a1, 40))
        w = np.linspace(w0, w1, 40) * self.weight
        outer = [(cu + (ru + wi / 2 * self.h / self.w) * math.cos(a), cv + (rv + wi / 2) * math.sin(a))
                 for a, wi in zip(t, w)]
        inner = [(cu + (ru - wi / 2 * self.h / self.w) * math.cos(a), cv + (rv - wi / 2) * math.sin(a))
                 for a, wi in zip(t, w)]
        self.poly(outer + inner[::-1])

    def dot(self, cu: float, cv: float, r: float) -> None:
        r *= self.weight
        self._ellipse(cu, cv, r * self.h / self.w, r, self.colour)


def glyph_a(p: Pen) -> None:
    p.stem((0.52, 0.0), (0.86, 0.96), 0.17)
    p.stem((0.48, 0.0), (0.14, 0.96), 0.075)
    p.bar(0.64, 0.3, 0.72, 0.075)
    p.bar(0.965, -0.02, 0.34, 0.07)
    p.bar(0.965, 0.64, 1.04, 0.07)


def glyph_k(p: Pen) -> None:
    p.stem((0.22, 0.0), (0.22, 1.0), 0.16)
    p.bar(0.035, -0.02, 0.48, 0.07)
    p.bar(0.965, -0.02, 0.48, 0.07)
    p.stem((0.84, 0.03), (0.3, 0.62), 0.075)
    p.stem((0.47, 0.42), (0.88, 0.97), 0.17)
    p.bar(0.035, 0.62, 1.04, 0.07)
    p.bar(0.965, 0.66, 1.06, 0.07)


def glyph_q(p: Pen) -> None:
    p.ring(0.5, 0.47, 0.47, 0.47, 0.15, 0.07)
    p.poly([(0.42, 0.8), (0.56, 0.76), (1.02, 1.08), (0.82, 1.1)])


def glyph_j(p: Pen) -> None:
    p.stem((0.66, 0.0), (0.66, 0.72), 0.16)
    p.bar(0.035, 0.34, 1.0, 0.07)
    p.arc(0.4, 0.72, 0.26, 0.25, 0.0, 160.0, 0.16, 0.06)
    p.dot(0.17, 0.72, 0.095)


def glyph_1(p: Pen) -> None:
    p.stem((0.56, 0.0), (0.56, 1.0), 0.16)
    p.poly([(0.5, 0.0), (0.64, 0.0), (0.6, 0.1), (0.12, 0.26), (0.12, 0.2)])
    p.bar(0.965, 0.2, 0.92, 0.07)


def glyph_0(p: Pen) -> None:
    p.ring(0.5, 0.5, 0.46, 0.5, 0.15, 0.065)


def glyph_9(p: Pen) -> None:
    p.ring(0.5, 0.33, 0.44, 0.33, 0.14, 0.065)
    p.stem((0.87, 0.32), (0.84, 0.66), 0.13)
    p.arc(0.5, 0.64, 0.36, 0.34, 0.0, 130.0, 0.12, 0.06)
    p.dot(0.25, 0.86, 0.09)


GLYPHS = {"A": (glyph_a, 0.78), "K": (glyph_k, 0.78), "Q": (glyph_q, 0.78), "J": (glyph_j, 0.62),
          "9": (glyph_9, 0.68), "1": (glyph_1, 0.5), "0": (glyph_0, 0.64)}  # name: (draw, width / height)


def index_width(text: str, height: float, condense: float = 0.78) -> float:
    """Pixel width of an index of ``height`` px; "10" is condensed to fit the index column."""
    w = sum(GLYPHS[c][1] for c in text) * height
    return w * condense if len(text) > 1 else w


def draw_index(draw: ImageDraw.ImageDraw, text: str, cx: float, top: float, height: float, weight: float,
               colour, condense: float = 0.78) -> None:
    """The rank ``text`` centred on ``cx`` with its top at ``top`` (pixels)."""
    total = index_width(text, height, condense)
    scale = total / (sum(GLYPHS[c][1] for c in text) * height)
    x = cx - total / 2
    for c in text:
        fn, aspect = GLYPHS[c]
        w = aspect * height * scale
        fn(Pen(draw, x, top, w, height, weight, colour))
        x += w * (0.96 if len(text) > 1 else 1.0)
