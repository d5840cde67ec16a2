"""Court pictures of jacks, queens and kings (numpy + PIL): a crude two-headed court figure.

One half of the framed picture is drawn (head at the top, robe down to the card's centre
line) and the face builder adds it turned by 180 degrees, as printed cards do. The ranks
differ the way real courts do: the king wears a spiked crown and a beard and holds a sword,
the queen a rounded crown with long hair and a flower, the jack a flat cap with a feather
and a halberd. Colours are the four inks of court cards (red, blue, yellow, black) in a
palette chosen by the deck style; the suit picks which colour dominates the robe.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import ImageDraw

from render.scenes.card_shapes import fill, place, suit_polys

# Frame of the picture in millimetres on a 63 x 88 mm card (top-left and bottom-right).
FRAME_MM = (11.0, 9.5, 52.0, 78.5)


@dataclass(frozen=True)
class Palette:
    red: tuple[int, int, int]
    blue: tuple[int, int, int]
    yellow: tuple[int, int, int]
    black: tuple[int, int, int]
    skin: tuple[int, int, int]


PALETTES = {
    "classic": Palette((200, 32, 42), (36, 62, 150), (242, 190, 48), (22, 22, 26), (252, 232, 200)),
    "bright": Palette((222, 40, 48), (30, 84, 184), (250, 206, 40), (16, 16, 20), (255, 238, 210)),
    "muted": Palette((170, 40, 44), (44, 58, 118), (222, 176, 70), (30, 28, 30), (242, 222, 192)),
}


class Sketch:
    """Draw in millimetres relative to the frame's top-left corner; outlines in ink black.

    ``at(cu, cv, f)`` sets an anchor and a zoom so a head can be drawn in its own units.
    """

    def __init__(self, draw: ImageDraw.ImageDraw, px_per_mm: float, palette: Palette) -> None:
        self.draw, self.s, self.pal = draw, px_per_mm, palette
        self.ox, self.oy = FRAME_MM[0] * px_per_mm, FRAME_MM[1] * px_per_mm
        self.line_w = max(1, int(round(0.28 * px_per_mm)))
        self.cu, self.cv, self.f = 0.0, 0.0, 1.0

    def at(self, cu: float, cv: float, f: float = 1.0) -> "Sketch":
        self.cu, self.cv, self.f = cu, cv, f
        return self

    def p(self, u: float, v: float) -> tuple[float, float]:
        return self.ox + (self.cu + u * self.f) * self.s, self.oy + (self.cv + v * self.f) * self.s

    def poly(self, pts, colour, outlined: bool = True) -> None:
        self.draw.polygon([self.p(u, v) for u, v in pts], fill=colour,
                          outline=self.pal.black if outlined else None, width=self.line_w if outlined else 1)

    def ellipse(self, cu, cv, ru, rv, colour, outlined: bool = True) -> None:
        (x0, y0), (x1, y1) = self.p(cu - ru, cv - rv), self.p(cu + ru, cv + rv)
        self.draw.ellipse([x0, y0, x1, y1], fill=colour, outline=self.pal.black if outlined else None,
                          width=self.line_w)

    def line(self, pts, colour=None, width_mm: float = 0.28) -> None:
        self.draw.line([self.p(u, v) for u, v in pts], fill=colour or self.pal.black,
                       width=max(1, int(round(width_mm * self.f * self.s))), joint="curve")


HALF_W, HALF_H = FRAME_MM[2] - FRAME_MM[0], (FRAME_MM[3] - FRAME_MM[1]) / 2
HEAD = (20.5, 16.2, 1.22)  # the head's centre in the frame (mm) and its zoom


def _robe_colours(pal: Palette, rank: str, suit: str) -> tuple:
    """(main, second, trim): which of red and blue dominates changes with rank and suit."""
    flip = (RANK_ORDER.index(rank) + SUIT_ORDER.index(suit)) % 2
    return (pal.blue, pal.red, pal.yellow) if flip else (pal.red, pal.blue, pal.yellow)


RANK_ORDER, SUIT_ORDER = ("jack", "queen", "king"), ("spades", "hearts", "diamonds", "clubs")


def _robe(k: Sketch, rank: str, suit: str) -> None:
    """Shoulders and robe from the chin down to the centre line; the pattern depends on the rank."""
    main, second, trim = _robe_colours(k.pal, rank, suit)
    w, mid = HALF_W, HALF_H
    k.at(0, 0)
    k.poly([(0.8, mid), (1.5, 27.0), (6.0, 23.5), (14.0, 22.0), (27.0, 22.0), (35.0, 23.5), (39.5, 27.0),
            (w - 0.8, mid)], main)
    k.poly([(6.0, 23.5), (1.5, 27.0), (0.8, mid), (8.5, mid), (12.0, 27.5)], second)
    k.poly([(35.0, 23.5), (39.5, 27.0), (w - 0.8, mid), (32.5, mid), (29.0, 27.5)], second)
    k.poly([(16.5, 22.0), (24.5, 22.0), (26.5, mid), (14.5, mid)], trim)  # the front panel
    if rank == "king":
        for j in range(4):  # embroidered rosettes down the panel
            k.ellipse(20.5, 24.6 + j * 2.6, 0.9, 0.9, second)
        for u0 in (2.5, 5.0, 36.0, 38.5):
            k.line([(u0, 28.0), (u0 - 1.0, mid - 0.4)], trim, 0.6)
    elif rank == "queen":
        for j in range(3):  # a lattice of diamonds on the panel
            v = 25.2 + j * 3.0
            k.poly([(20.5, v - 1.3), (22.2, v), (20.5, v + 1.3), (18.8, v)], second)
        for u0, v0 in ((4.0, 29.5), (37.0, 29.5), (6.5, 32.0), (34.5, 32.0)):
            k.ellipse(u0, v0, 0.8, 0.8, trim)
    else:
        for j in range(3):  # horizontal bands with a zigzag on the panel
            v = 25.0 + j * 3.2
            k.line([(15.3, v), (17.3, v + 1.2), (19.3, v), (21.3, v + 1.2), (23.3, v), (25.3, v + 1.2)],
                   second, 0.5)
        for u0 in (3.0, 37.5):
            k.line([(u0, 28.5), (u0 + 1.5, 29.5), (u0, 30.5), (u0 + 1.5, 31.5), (u0, 32.5)], trim, 0.6)
    collar = k.pal.yellow if rank != "queen" else second
    k.poly([(11.5, 21.5), (20.5, 25.5), (29.5, 21.5), (27.0, 20.2), (20.5, 23.0), (14.0, 20.2)], collar)
    if rank == "king":  # ermine spots on the collar
        for u in (14.5, 17.5, 23.5, 26.5):
            k.ellipse(u, 22.0, 0.4, 0.55, k.pal.black, outlined=False)
    k.line([(0.0, mid), (w, mid)], width_mm=0.35)


def _face(k: Sketch, rank: str) -> None:
    """Face, hair and beard in head units (centre 0, 0; the face is 9 x 11)."""
    pal = k.pal
    k.at(*HEAD)
    if rank == "queen":  # long hair behind the face
        k.poly([(-6.3, -4.5), (6.3, -4.5), (7.5, 6.0), (4.0, 7.0), (-4.0, 7.0), (-7.5, 6.0)], pal.yellow)
        for du in (-5.6, -4.4, 4.4, 5.6):
            k.line([(du, -3.0), (du * 1.15, 5.5)], width_mm=0.2)
    k.ellipse(0, 0, 4.6, 5.6, pal.skin)
    for du in (-1.7, 1.7):  # eyes and brows
        k.ellipse(du, -0.6, 0.6, 0.38, pal.black, outlined=False)
        k.line([(du - 1.0, -1.7), (du + 1.0, -1.8)], width_mm=0.25)
    k.line([(0.0, -0.4), (-0.5, 1.4), (0.2, 1.6)], width_mm=0.22)
    k.line([(-1.1, 3.0), (1.1, 3.0)], pal.red, 0.45)
    if rank == "king":  # beard and moustache
        k.poly([(-4.4, 1.4), (-2.0, 3.8), (2.0, 3.8), (4.4, 1.4), (3.2, 7.2), (0, 8.6), (-3.2, 7.2)], pal.yellow)
        for du in (-1.6, 0.0, 1.6):
            k.line([(du, 4.6), (du * 0.8, 7.6)], width_mm=0.2)
        k.line([(-2.8, 2.4), (0, 1.9), (2.8, 2.4)], width_mm=0.5)
    elif rank == "jack":  # curls at the sides
        for side in (-1, 1):
            k.poly([(side * 4.2, -3.8), (side * 5.8, 0.0), (side * 4.8, 4.2), (side * 3.7, 1.0)], pal.yellow)


def _headgear(k: Sketch, rank: str, suit: str) -> None:
    """King: spiked crown; queen: rounded crown with a cross; jack: a flat cap with a feather."""
    pal = k.pal
    k.at(*HEAD)
    if rank == "king":
        pts = [(-5.0, -4.6), (-5.8, -11.6), (-3.0, -8.0), (-1.4, -12.2), (0, -8.6), (1.4, -12.2), (3.0, -8.0),
               (5.8, -11.6), (5.0, -4.6)]
        k.poly(pts, pal.yellow)
        k.poly([(-5.0, -4.6), (-5.2, -6.4), (5.2, -6.4), (5.0, -4.6)], pal.red)
        for u, v in pts[1:-1:2]:
            k.ellipse(u, v, 0.65, 0.65, pal.red)
    elif rank == "queen":
        k.poly([(-4.8, -4.8), (-5.4, -8.8), (-2.6, -10.4), (0, -11.2), (2.6, -10.4), (5.4, -8.8), (4.8, -4.8)],
               pal.yellow)
        k.poly([(-4.8, -4.8), (-4.9, -6.4), (4.9, -6.4), (4.8, -4.8)], pal.blue)
        for du, dv in ((-3.0, -8.2), (0.0, -9.2), (3.0, -8.2)):
            k.ellipse(du, dv, 0.7, 0.7, pal.red)
        k.line([(0, -11.2), (0, -12.6)], width_mm=0.45)
        k.line([(-0.8, -11.9), (0.8, -11.9)], width_mm=0.45)
    else:
        main, second, trim = _robe_colours(pal, rank, suit)
        k.poly([(-7.0, -4.6), (-5.2, -9.2), (0, -10.4), (5.2, -9.2), (7.0, -4.6)], second)
        k.poly([(-7.0, -4.6), (-7.4, -6.2), (7.4, -6.2), (7.0, -4.6)], trim)
        k.poly([(3.0, -9.2), (9.8, -12.6), (10.8, -11.6), (4.6, -8.0)], pal.yellow)  # feather


def _attribute(k: Sketch, rank: str) -> None:
    """What the figure holds: the king a sword, the queen a flower, the jack a halberd."""
    pal = k.pal
    mid = HALF_H
    k.at(0, 0)
    if rank == "king":
        k.poly([(34.4, 2.0), (35.8, 2.0), (35.8, mid - 6.5), (34.4, mid - 6.5)], (214, 214, 220))
        k.poly([(32.2, mid - 6.5), (38.0, mid - 6.5), (38.0, mid - 5.3), (32.2, mid - 5.3)], pal.yellow)
        k.ellipse(35.1, mid - 3.4, 1.3, 1.7, pal.skin)  # the hand on the hilt
    elif rank == "queen":
        k.line([(31.0, 29.5), (30.0, 21.0)], (40, 120, 60), 0.55)
        for a in np.linspace(0, 2 * np.pi, 5, endpoint=False):
            k.ellipse(30.0 + 1.4 * np.cos(a), 19.6 + 1.4 * np.sin(a), 1.1, 1.1, pal.red)
        k.ellipse(30.0, 19.6, 0.85, 0.85, pal.yellow)
        k.ellipse(31.2, 29.5, 1.3, 1.5, pal.skin)
    else:
        k.poly([(5.6, 3.0), (6.8, 3.0), (6.8, mid - 1.0), (5.6, mid - 1.0)], (150, 100, 50))
        k.poly([(6.8, 4.0), (10.8, 5.0), (10.3, 8.6), (6.8, 8.0)], (214, 214, 220))
        k.poly([(5.6, 3.0), (6.2, 0.8), (6.8, 3.0)], (214, 214, 220))
        k.ellipse(6.2, 28.5, 1.4, 1.5, pal.skin)


def draw_court_half(draw: ImageDraw.ImageDraw, px_per_mm: float, rank: str, suit: str, palette: str,
                    ink) -> None:
    """The upper half of the framed picture of ``rank`` (king, queen, jack) of ``suit``."""
    k = Sketch(draw, px_per_mm, PALETTES[palette])
    _robe(k, rank, suit)
    _face(k, rank)
    _headgear(k, rank, suit)
    _attribute(k, rank)
    side = 4.6 if rank == "king" else 36.0  # the small suit pip inside the frame, opposite the attribute
    k.at(0, 0)
    fill(draw, place(suit_polys(suit), *k.p(side, 4.8), 5.4 * px_per_mm), ink)


def draw_frame(draw: ImageDraw.ImageDraw, px_per_mm: float, colour) -> None:
    x0, y0, x1, y1 = (c * px_per_mm for c in FRAME_MM)
    draw.rectangle([x0, y0, x1, y1], outline=colour, width=max(1, int(round(0.4 * px_per_mm))))
