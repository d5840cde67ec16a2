"""``scene=cards``: playing cards (ace, king, queen, jack, ten, nine) on a table, in metres.

A card is a 63 x 88 x 0.3 mm plate with rounded corners (render/geometry.py) whose top face
shows a procedurally drawn face (render/scenes/card_faces.py) and whose bottom shows the
deck's back; faces are mapped from object coordinates, so no UVs are needed. Cards lie
scattered, in an overlapping row, in a fan (as held in a hand) or in a loose pile
(render/scenes/card_layouts.py); cards overlapping others sit a fraction of a millimetre
higher, the top ones may bend slightly or tilt. Labels come from the rendered id map, so
an overlapped card is boxed by its visible part.

The layout decides which cards lie under others (those must stay flat), and the base
class's per-card hooks (``deform``, ``rest_rotation``) carry no card index, so ``arrange``
keeps that per-card plan for the calls that follow it in ``sample_image``.
"""
from __future__ import annotations

import functools
import math
from collections import deque

from render import geometry as G
from render.registry import register
from render.scenes.base import SceneKind, distractor_meshes, generic_material
from render.scenes.card_faces import RANKS, SUITS, STYLES, style_of
from render.scenes.card_layouts import ARRANGEMENTS, CARD_H, CARD_T, CARD_W, CORNER_R, plan_layout
from sim2real.errors import ConfigError

EDGE_COLOUR = [0.86, 0.86, 0.84]  # the card's cut edge (linear RGB)


@functools.lru_cache(maxsize=1)
def card_mesh() -> G.Mesh:
    return G.rounded_plate(CARD_W, CARD_H, CARD_T, CORNER_R)


def _range(cfg, key: str, lo: float = 0.0, hi: float = math.inf) -> tuple[float, float]:
    a, b = (float(x) for x in getattr(cfg, key))
    if not lo <= a <= b <= hi:
        raise ConfigError(f"scene.cards.{key}: need {lo} <= low <= high <= {hi}, got {[a, b]}")
    return a, b


def check_cards_config(cfg) -> None:
    """One-line errors naming the key of ``scene.cards``."""
    weights = dict(cfg.arrangement_weights)
    unknown = sorted(set(weights) - set(ARRANGEMENTS))
    if unknown:
        raise ConfigError(f"scene.cards.arrangement_weights: unknown {unknown}; choose from {list(ARRANGEMENTS)}")
    if not any(float(w) > 0 for w in weights.values()) or any(float(w) < 0 for w in weights.values()):
        raise ConfigError(f"scene.cards.arrangement_weights: need weights >= 0, one > 0, got {weights}")
    if not cfg.decks:
        raise ConfigError(f"scene.cards.decks: empty; choose from {sorted(STYLES)}")
    for deck in cfg.decks:
        style_of(deck)
    for key in ("bend_prob", "tilt_prob"):
        if not 0.0 <= getattr(cfg, key) <= 1.0:
            raise ConfigError(f"scene.cards.{key}: must lie in [0, 1], got {getattr(cfg, key)}")
    _range(cfg, "fan_spread_deg", 0.0, 45.0)
    _range(cfg, "row_offset_mm", 5.0, 63.0)
    _range(cfg, "bend_mm", 0.0, 10.0)
    _range(cfg, "tilt_deg", 0.0, 45.0)
    _range(cfg, "roughness", 0.0, 1.0)
    _range(cfg, "coat", 0.0, 1.0)
    if not 0.0 <= cfg.ink_jitter <= 0.5:
        raise ConfigError(f"scene.cards.ink_jitter: must lie in [0, 0.5], got {cfg.ink_jitter}")


def _default_cards_config():
    from render.config import CardsConfig

    return CardsConfig()


@register("cards")
class Cards(SceneKind):
    name = "cards"

    def __init__(self) -> None:
        self._cfg = None
        self._deck: str | None = None
        self._flat_deform: deque[bool] = deque()
        self._flat_rest: deque[bool] = deque()
        self._level_rest: deque[int] = deque()

    def target_meshes(self) -> dict[str, G.Mesh]:
        return {rank: card_mesh() for rank in RANKS}

    @staticmethod
    def distractor_meshes() -> dict[str, G.Mesh]:
        """The generic shapes at table-top size (a few cm), plus poker chips, coins, a card box."""
        base = {k: m.scaled(0.05) for k, m in distractor_meshes().items()}
        chip = G.revolve(G.cylinder_profile(0.0195, 0.0033, bevel=0.0004), 32)
        coin = G.revolve(G.cylinder_profile(0.0115, 0.0019, bevel=0.0002), 32)
        return {**base, "chip": chip, "coin": coin, "card_box": G.box((0.066, 0.092, 0.02), 2)}

    # --------------------------------------------------------------- hooks, in sample_image's order
    def arrange(self, rng, classes: list[str], sc):
        """The layout of this image's cards; remembers which must stay flat (see the module doc).

        With user assets among the targets, everything is placed freely (no card layout).
        """
        cfg = sc.cards
        check_cards_config(cfg)
        self._cfg = cfg
        self._deck = str(rng.choice(list(cfg.decks)))  # one deck per picture
        if not classes or any(c not in RANKS for c in classes):
            self._plan([], [])
            return None
        layout, covered, levels = plan_layout(rng, classes, cfg, sc.objects.placement.area_radius)
        self._plan(covered, levels)
        return layout

    def _plan(self, covered: list[bool], levels: list[int]) -> None:
        self._flat_deform, self._flat_rest = deque(covered), deque(covered)
        self._level_rest = deque(levels)

    def deform(self, rng, cls: str, sc, m) -> dict | None:
        """A slight cylindrical bend (render/geometry.py ``bend``) for a card nothing lies on."""
        cfg = self._cfg or _default_cards_config()
        flat = self._flat_deform.popleft() if self._flat_deform else False
        if cls not in RANKS:
            return super().deform(rng, cls, sc, m)
        if flat or rng.uniform() >= cfg.bend_prob:
            return None
        sag = float(rng.uniform(*cfg.bend_mm)) / 1000 * (1 if rng.uniform() < 0.5 else -1)
        return {"dents": 0, "depth": 0.0, "crush": 0.0, "seed": 0,
                "bend": {"sag": round(sag, 6), "axis": int(rng.integers(2))}}

    def rest_rotation(self, rng, cls: str, sc) -> list[float] | None:
        """A card resting on others may tilt a little (its own x or y axis)."""
        cfg = self._cfg or _default_cards_config()
        flat = self._flat_rest.popleft() if self._flat_rest else False
        level = self._level_rest.popleft() if self._level_rest else 0
        if cls not in RANKS or flat or level == 0 or rng.uniform() >= cfg.tilt_prob:
            return None
        tilt = math.radians(float(rng.uniform(*cfg.tilt_deg))) * (1 if rng.uniform() < 0.5 else -1)
        return [tilt, 0.0, 0.0] if rng.uniform() < 0.5 else [0.0, tilt, 0.0]

    def target_material(self, rng, cls: str, m) -> dict:
        """Face of ``cls`` in a random suit of this picture's deck; laminated gloss; a slight ink shift."""
        if cls not in RANKS:  # a user asset with random materials
            return generic_material(rng, m)
        cfg = self._cfg or _default_cards_config()
        suit = str(rng.choice(SUITS))
        deck = self._deck or str(cfg.decks[0])
        return {"name": "card", "card": {"rank": cls, "suit": suit, "deck": deck, "size_m": [CARD_W, CARD_H]},
                "base_color": EDGE_COLOUR, "roughness": round(float(rng.uniform(*cfg.roughness)), 4),
                "coat": round(float(rng.uniform(*cfg.coat)), 4), "metallic": 0.0, "ink": _ink(rng, cfg.ink_jitter)}


def _ink(rng, j: float) -> dict:
    """Hue shift (+-j/10 of the hue circle), saturation and value factors of ink and paper."""
    return {"hue": round(float(rng.uniform(-j, j)) * 0.1, 4), "saturation": round(float(rng.uniform(1 - j, 1 + j)), 4),
            "value": round(float(rng.uniform(1 - j, 1 + j / 2)), 4)}

