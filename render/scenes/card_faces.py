"""Playing-card faces and backs drawn with numpy + PIL, cached as PNGs (``scene=cards``).

A face is 630 x 880 px, the 63 x 88 mm poker card at 10 px/mm, drawn at twice that and
reduced (anti-aliased ink). It holds what a Bicycle-style card shows: off-white paper, the
corner index (rank over a small suit symbol) top-left and turned by 180 degrees bottom-right,
in red for hearts and diamonds and black for spades and clubs; the pips of the nine and ten
in the standard layouts (the lower half turned); one large pip on the ace (the ace of spades
larger and ornate); a framed two-headed court picture on the jack, queen and king
(render/scenes/card_courts.py). A back is a red or blue lattice inside a white border.

Deck styles (``STYLES``) vary stroke weight, index size, paper tone, inks, court palette and
back. Drawn images are cached under ``$SIM2REAL_CARD_CACHE`` (default: the temp folder), in a
folder keyed by the style and the drawing code, so every process draws each face once.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from render.scenes import card_courts, card_shapes
from render.scenes.card_courts import FRAME_MM, draw_court_half, draw_frame
from render.scenes.card_shapes import draw_index, fill, outline, place, shrunk, suit_polys
from sim2real.errors import ConfigError

CARD_MM = (63.0, 88.0)
PX_PER_MM = 10
SUPERSAMPLE = 2
CORNER_MM = 3.2
RANKS = ("ace", "king", "queen", "jack", "ten", "nine")
SUITS = ("spades", "hearts", "diamonds", "clubs")
RED_SUITS = ("hearts", "diamonds")
COURTS = ("king", "queen", "jack")
INDEX_TEXT = {"ace": "A", "king": "K", "queen": "Q", "jack": "J", "ten": "10", "nine": "9"}

SIDE_X, CENTRE_X = (18.6, 44.4), 31.5  # pip columns (mm)
ROWS_Y = (17.6, 35.2, 52.8, 70.4)  # pip rows of the side columns of nine and ten (mm)
PIP_MM = {"spades": 10.6, "hearts": 10.2, "diamonds": 11.4, "clubs": 10.4}  # pip heights
ACE_MM = 22.0  # the ace's pip; the ornate ace of spades is twice as large


@dataclass(frozen=True)
class DeckStyle:
    """Everything that differs between decks; a style's name keys its cache folder."""

    name: str
    weight: float = 1.0  # index stroke weight
    index_scale: float = 1.0  # index height factor
    pip_scale: float = 1.0
    paper: tuple[int, int, int] = (247, 246, 240)
    red: tuple[int, int, int] = (198, 30, 44)
    black: tuple[int, int, int] = (24, 24, 28)
    court: str = "classic"  # card_courts.PALETTES
    back: tuple[int, int, int] = (168, 30, 40)
    back_pattern: str = "rider"  # rider | diamonds
    ornate_ace: bool = True


STYLES = {s.name: s for s in (
    DeckStyle("classic_red"),
    DeckStyle("classic_blue", back=(30, 58, 138)),
    DeckStyle("bold", weight=1.25, index_scale=1.08, pip_scale=1.04, paper=(250, 250, 247), red=(214, 34, 40),
              black=(14, 14, 16), court="bright", back=(34, 72, 156), back_pattern="diamonds"),
    DeckStyle("slim", weight=0.82, index_scale=0.92, pip_scale=0.95, paper=(243, 240, 230), red=(180, 34, 46),
              black=(34, 32, 34), court="muted", back=(150, 32, 38), back_pattern="diamonds", ornate_ace=False),
)}


def style_of(deck: str) -> DeckStyle:
    if deck not in STYLES:
        raise ConfigError(f"scene.cards.decks: unknown deck style {deck!r}; choose from {sorted(STYLES)}")
    return STYLES[deck]


def ink_of(suit: str, style: DeckStyle) -> tuple[int, int, int]:
    return style.red if suit in RED_SUITS else style.black


# ----------------------------------------------------------------------------- faces
def _canvas_size() -> tuple[int, int]:
    s = PX_PER_MM * SUPERSAMPLE
    return round(CARD_MM[0] * s), round(CARD_MM[1] * s)


def _layer() -> Image.Image:
    return Image.new("RGBA", _canvas_size(), (0, 0, 0, 0))


def _pip(draw: ImageDraw.ImageDraw, suit: str, x_mm: float, y_mm: float, h_mm: float, ink,
         upside_down: bool = False) -> None:
    s = PX_PER_MM * SUPERSAMPLE
    fill(draw, place(suit_polys(suit), x_mm * s, y_mm * s, h_mm * s, upside_down=upside_down), ink)


def _corner_index(draw: ImageDraw.ImageDraw, rank: str, suit: str, style: DeckStyle, ink) -> None:
    """Rank over a small suit symbol in the top-left corner (the builder adds it turned)."""
    s = PX_PER_MM * SUPERSAMPLE
    h = 6.6 * style.index_scale
    cx, top = 5.4, 3.6
    draw_index(draw, INDEX_TEXT[rank], cx * s, top * s, h * s, style.weight, ink)
    pip_h = 4.3 * style.index_scale
    _pip(draw, suit, cx, top + h + 0.9 + pip_h / 2, pip_h, ink)


def _number_pips(draw: ImageDraw.ImageDraw, rank: str, suit: str, style: DeckStyle, ink) -> None:
    """The upper half of the nine's and ten's pips (the lower half is this turned)."""
    h = PIP_MM[suit] * style.pip_scale
    for x in SIDE_X:
        for y in ROWS_Y[:2]:
            _pip(draw, suit, x, y, h, ink)
    if rank == "ten":
        _pip(draw, suit, CENTRE_X, (ROWS_Y[0] + ROWS_Y[1]) / 2, h, ink)


def _ace(draw: ImageDraw.ImageDraw, suit: str, style: DeckStyle, ink) -> None:
    s = PX_PER_MM * SUPERSAMPLE
    cx, cy = CARD_MM[0] / 2 * s, CARD_MM[1] / 2 * s
    if suit != "spades" or not style.ornate_ace:
        _pip(draw, suit, CARD_MM[0] / 2, CARD_MM[1] / 2, ACE_MM * style.pip_scale, ink)
        return
    big = place(suit_polys("spades"), cx, cy, 2 * ACE_MM * s)
    fill(draw, big, ink)
    outline(draw, shrunk(big, 0.86), style.paper, max(1, int(0.45 * s)))
    for side in (-1, 1):  # scrolls beside the stem
        x = cx + side * 7.5 * s
        y = cy + 17.0 * s
        r = 3.2 * s
        draw.arc([x - r, y - r, x + r, y + r], 90 if side < 0 else -90, 360 if side < 0 else 180, fill=ink,
                 width=int(0.6 * s))
    r = 3.0 * s
    draw.ellipse([cx - r, cy - 1.0 * s - r, cx + r, cy - 1.0 * s + r], outline=style.paper, width=int(0.6 * s))


def _court(rank: str, suit: str, style: DeckStyle, ink) -> Image.Image:
    """The court picture's upper half on its own layer, clipped to the frame and the centre line."""
    s = PX_PER_MM * SUPERSAMPLE
    layer = _layer()
    draw_court_half(ImageDraw.Draw(layer), s, rank, suit, style.court, ink)
    a = np.array(layer)
    y_mid, x0, x1, y0 = (int(c * s) for c in (CARD_MM[1] / 2, FRAME_MM[0], FRAME_MM[2], FRAME_MM[1]))
    a[y_mid:] = 0
    a[:y0] = 0
    a[:, :x0] = 0
    a[:, x1:] = 0
    return Image.fromarray(a)


def draw_face(rank: str, suit: str, style: DeckStyle) -> Image.Image:
    """The face of ``rank`` of ``suit`` (RGB, 630 x 880)."""
    if rank not in INDEX_TEXT or suit not in SUITS:
        raise ConfigError(f"card {rank!r} of {suit!r}: rank must be one of {list(RANKS)}, suit one of {list(SUITS)}")
    ink = ink_of(suit, style)
    turned, upright = _layer(), _layer()  # turned: printed twice, the second time upside down
    td, ud = ImageDraw.Draw(turned), ImageDraw.Draw(upright)
    _corner_index(td, rank, suit, style, ink)
    if rank in COURTS:
        turned.alpha_composite(_court(rank, suit, style, ink))
        draw_frame(ud, PX_PER_MM * SUPERSAMPLE, style.black if suit not in RED_SUITS else card_courts.PALETTES[
            style.court].blue)
    elif rank in ("nine", "ten"):
        _number_pips(td, rank, suit, style, ink)
        if rank == "nine":
            _pip(ud, suit, CENTRE_X, CARD_MM[1] / 2, PIP_MM[suit] * style.pip_scale, ink)
    else:
        _ace(ud, suit, style, ink)
    card = Image.new("RGBA", _canvas_size(), (*style.paper, 255))
    card.alpha_composite(turned)
    card.alpha_composite(turned.transpose(Image.Transpose.ROTATE_180))
    card.alpha_composite(upright)
    return card.convert("RGB").resize(face_size(), Image.Resampling.LANCZOS)


def face_size() -> tuple[int, int]:
    return round(CARD_MM[0] * PX_PER_MM), round(CARD_MM[1] * PX_PER_MM)


# ----------------------------------------------------------------------------- backs
def _rounded(size: tuple[int, int], box, radius: float) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle(box, radius=radius, fill=255)
    return mask


def _lattice(draw: ImageDraw.ImageDraw, size, pitch: float, width: int, colour, angle_deg: float) -> None:
    w, h = size
    t = np.tan(np.radians(angle_deg))
    span = int((w + h * t) / pitch) + 2
    for k in range(-span, span):
        x = k * pitch
        draw.line([(x, 0), (x + h * t, h)], fill=colour, width=width)
        draw.line([(x, h), (x + h * t, 0)], fill=colour, width=width)


def draw_back(style: DeckStyle) -> Image.Image:
    """A card back: the style's colour inside a white border, a fine lattice, a central medallion."""
    s = PX_PER_MM * SUPERSAMPLE
    size = _canvas_size()
    card = Image.new("RGBA", size, (*style.paper, 255))
    inner = (4.0 * s, 4.0 * s, size[0] - 4.0 * s, size[1] - 4.0 * s)
    art = Image.new("RGBA", size, (*style.back, 255))
    d = ImageDraw.Draw(art)
    pitch = (2.6 if style.back_pattern == "diamonds" else 1.9) * s
    _lattice(d, size, pitch, max(1, int(0.32 * s)), style.paper, 35.0 if style.back_pattern == "diamonds" else 30.0)
    cx, cy = size[0] / 2, size[1] / 2
    if style.back_pattern == "rider":
        for r, w in ((17.0, 1.4), (13.5, 0.5), (9.5, 1.0)):
            d.ellipse([cx - r * s * 0.8, cy - r * s, cx + r * s * 0.8, cy + r * s], outline=style.paper,
                      width=int(w * s), fill=style.back if r == 17.0 else None)
        _lattice_in(d, cx, cy, 8.0 * s, style)
        for fx, fy in ((0.22, 0.16), (0.78, 0.16), (0.22, 0.84), (0.78, 0.84)):
            x, y, r = size[0] * fx, size[1] * fy, 3.6 * s
            d.ellipse([x - r, y - r, x + r, y + r], fill=style.back, outline=style.paper, width=int(0.6 * s))
    else:
        for r, w in ((11.0, 1.2), (7.5, 0.5)):  # a diamond in a diamond
            d.regular_polygon((cx, cy, r * s), 4, rotation=45, fill=style.back, outline=style.paper, width=int(w * s))
    edge = 1.4 * s
    d.rounded_rectangle([inner[0] + edge, inner[1] + edge, inner[2] - edge, inner[3] - edge], radius=1.5 * s,
                        outline=style.paper, width=int(0.45 * s))
    card.paste(art, (0, 0), _rounded(size, inner, 2.4 * s))
    return card.convert("RGB").resize(face_size(), Image.Resampling.LANCZOS)


def _lattice_in(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, style: DeckStyle) -> None:
    """A rosette in the medallion: petals around a dot."""
    for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):
        x, y = cx + 0.55 * r * np.cos(a), cy + 0.55 * r * np.sin(a)
        pr = 0.3 * r
        d.ellipse([x - pr, y - pr, x + pr, y + pr], outline=style.paper, width=max(1, int(0.05 * r)))
    d.ellipse([cx - 0.2 * r, cy - 0.2 * r, cx + 0.2 * r, cy + 0.2 * r], fill=style.paper)


def rounded_mask(size: tuple[int, int]) -> Image.Image:
    """The card's outline (rounded corners) at ``size`` pixels, for showing a face on its own."""
    radius = CORNER_MM / CARD_MM[0] * size[0]
    return _rounded(size, (0, 0, size[0] - 1, size[1] - 1), radius)


# ----------------------------------------------------------------------------- cache
@functools.lru_cache(maxsize=None)
def _style_key(deck: str) -> str:
    """Hash of the style and of the drawing code: a change to either draws the cards anew."""
    h = hashlib.sha1(json.dumps(asdict(style_of(deck)), sort_keys=True).encode())
    for module in (card_shapes, card_courts):
        h.update(Path(module.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def cache_dir() -> Path:
    root = os.environ.get("SIM2REAL_CARD_CACHE")
    return Path(root) if root else Path(tempfile.gettempdir()) / f"sim2real-card-faces-{os.getuid()}"


def _cached(name: str, deck: str, draw) -> Path:
    path = cache_dir() / f"{deck}-{_style_key(deck)}" / f"{name}.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
        draw().save(tmp)
        os.replace(tmp, path)  # atomic: processes drawing the same card at once both end well
    return path


def face_path(rank: str, suit: str, deck: str) -> Path:
    """The cached PNG of a face (drawn on first use)."""
    style = style_of(deck)
    return _cached(f"{rank}_{suit}", deck, lambda: draw_face(rank, suit, style))


def back_path(deck: str) -> Path:
    style = style_of(deck)
    return _cached("back", deck, lambda: draw_back(style))
