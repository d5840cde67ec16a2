"""``scene=cards``: drawn card faces (pixels), layouts (numpy) and real Blender renders (tiny, in process)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from scipy import ndimage

from render.geometry import bend
from render.renderer import to_config
from render.run import run
from render.sampling import Catalog, euler_matrix, sample_image
from render.scenes import create as create_scene
from render.scenes import card_faces as F
from render.scenes.card_layouts import CARD_H, CARD_T, CARD_W, STEP, covers, index_points, indices_visible, overlaps
from render.scenes.cards import card_mesh
from render.validate import check_config
from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.dataset import DatasetReader
from sim2real.errors import ConfigError
from tests.test_render_blender import assert_labels_exact

register_configs()
FAST = ["scene=cards", "resolution=64", "reality.samples=4", "progress=false", "logger=none", "workers=0"]
STYLE = F.STYLES["classic_red"]
# One card, nothing else, seen from straight above in white light.
LONE = ["scene.objects.count=[1,1]", "scene.objects.negative_fraction=0", "scene.distractors.count=[0,0]",
        "scene.occluders.prob=0", "scene.camera.look_at_jitter=0", "scene.camera.elevation_deg=[89.9,89.9]",
        "scene.camera.distance=[0.24,0.24]", "scene.camera.focal_mm=[40,40]", "scene.camera.roll_deg=[0,0]",
        "scene.cards.bend_prob=0", "scene.ground.materials=[concrete]", "reality.lighting.hdri_prob=0",
        "reality.lighting.ambient=[0.3,0.3]", "scene.lights.count=[1,1]", "scene.lights.types=[SUN]",
        "scene.lights.color_temperature_k=[6500,6500]", "scene.lights.sun_strength=[2.5,2.5]",
        "scene.lights.elevation_deg=[70,85]", "scene.cards.coat=[0,0]", "scene.cards.roughness=[0.5,0.5]"]


def compose_render(*overrides: str):
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        return compose("render", overrides=["logger=none", "scene=cards", *overrides])


def render(tmp, *overrides: str, name: str = "ds") -> DatasetReader:
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("render", overrides=[*FAST, f"out_dir={tmp / name}", *overrides])
    run(cfg)
    return DatasetReader(tmp / name, require_complete=True)


@pytest.fixture(autouse=True)
def card_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SIM2REAL_CARD_CACHE", str(tmp_path_factory.getbasetemp() / "card_faces"))


def face(rank: str, suit: str = "spades", style=STYLE) -> np.ndarray:
    return np.asarray(F.draw_face(rank, suit, style)).astype(int)


def ink(img: np.ndarray) -> np.ndarray:
    """Pixels clearly darker than the paper in some channel (black or red ink)."""
    return img.min(-1) < 150


# ----------------------------------------------------------------------------- faces
def test_six_ranks_differ_from_each_other_and_from_the_back():
    faces = {r: face(r) for r in F.RANKS}
    back = np.asarray(F.draw_back(STYLE)).astype(int)
    assert all(f.shape == (880, 630, 3) for f in faces.values()) and back.shape == (880, 630, 3)
    names = list(faces)
    for i, a in enumerate(names):
        assert np.abs(faces[a] - back).mean() > 40, a
        for b in names[i + 1:]:
            assert np.abs(faces[a] - faces[b]).mean() > 2.0, (a, b)


@pytest.mark.parametrize("rank,pips", [("nine", 9), ("ten", 10), ("ace", 1)])
def test_pip_count_by_connected_components(rank, pips):
    body = ink(face(rank, "hearts"))[:, 110:520]  # between the corner index columns
    _, count = ndimage.label(body)
    assert count == pips


def test_lower_half_is_the_upper_half_turned_and_the_nine_has_an_upright_centre():
    ten, nine = ink(face("ten", "clubs")), ink(face("nine", "clubs"))
    assert np.array_equal(ten, ten[::-1, ::-1])
    assert not np.array_equal(nine, nine[::-1, ::-1])  # its centre pip points up
    assert np.array_equal(nine[:370], nine[::-1, ::-1][:370])  # the rest is symmetric


@pytest.mark.parametrize("suit", F.SUITS)
def test_ink_is_red_for_hearts_and_diamonds_black_for_spades_and_clubs(suit):
    img = face("nine", suit)
    px = img[ink(img)]
    red = (px[:, 0] - px[:, 1:].max(1)) > 60
    assert red.mean() > 0.9 if suit in F.RED_SUITS else red.mean() < 0.01


def test_corner_index_top_left_and_turned_bottom_right_only():
    img = ink(face("king", "diamonds"))
    corner = img[20:170, 15:95]
    assert corner.mean() > 0.1
    assert np.array_equal(corner, img[::-1, ::-1][20:170, 15:95])
    assert img[20:170, 540:615].mean() == 0  # top-right and bottom-left stay blank
    assert img[::-1, ::-1][20:170, 540:615].mean() == 0


def test_courts_are_coloured_and_styles_differ():
    k = face("king", "spades")
    colourful = (k.max(-1) - k.min(-1)) > 80
    assert colourful.mean() > 0.15  # red, blue and yellow robes even on a black suit
    assert np.abs(face("queen", "hearts", F.STYLES["bold"]) - face("queen", "hearts")).mean() > 2
    with pytest.raises(ConfigError, match="scene.cards.decks"):
        F.style_of("no_such_deck")


def test_faces_are_cached_once_per_style_and_code(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM2REAL_CARD_CACHE", str(tmp_path))
    path = F.face_path("ace", "spades", "bold")
    stamp = path.stat().st_mtime_ns
    assert F.face_path("ace", "spades", "bold") == path and path.stat().st_mtime_ns == stamp
    assert path.parent.parent == tmp_path and path.parent.name.startswith("bold-")
    assert F.back_path("bold").parent == path.parent and F.face_path("ace", "spades", "slim").parent != path.parent


# ----------------------------------------------------------------------------- mesh and layouts
def test_card_mesh_is_a_thin_plate_with_rounded_corners():
    m = card_mesh()
    assert np.allclose(np.ptp(m.verts, 0), [CARD_W, CARD_H, CARD_T])
    corner = np.array([CARD_W / 2, CARD_H / 2])
    assert np.linalg.norm(np.abs(m.verts[:, :2]) - corner, axis=1).min() > 0.0008  # nothing at the corner
    bent = bend(m.verts, 0.002, 0)
    assert np.ptp(bent[:, 2]) == pytest.approx(CARD_T + 0.002) and np.array_equal(bent[:, :2], m.verts[:, :2])


def only(how: str) -> str:
    weights = ", ".join(f"{k}: {1 if k == how else 0}" for k in ("scatter", "row", "fan", "pile"))
    return f"scene.cards.arrangement_weights={{{weights}}}"


def _sample(*overrides: str, n: int = 40, **cards):
    cfg = to_config(compose_render(*overrides))
    for key, value in cards.items():
        setattr(cfg.scene.cards, key, value)
    check_config(cfg)
    kind = create_scene("cards")
    cat = Catalog(kind.target_meshes(), kind.distractor_meshes(), ["city"], [])
    return [sample_image(cfg, i, kind, cat) for i in range(n)]


@pytest.mark.parametrize("how", ["scatter", "row", "fan", "pile"])
def test_layouts_stack_overlapping_cards_and_only_top_cards_bend_or_tilt(how):
    samples = _sample(only(how), "scene.objects.count=[2,6]",
                      "scene.objects.negative_fraction=0", "scene.cards.bend_prob=1", "scene.cards.tilt_prob=1")
    for meta, geometry in samples:
        cards = meta["objects"]
        poses = [(o["location"][0], o["location"][1], o["rotation_euler"][2]) for o in cards]
        for i, a in enumerate(cards):
            over = [j for j in range(i + 1, len(cards)) if overlaps(poses[i], poses[j])]
            if over:  # something lies on it: flat, untilted, below all of those
                assert a["deform"] is None and a["rotation_euler"][:2] == [0.0, 0.0] and i not in geometry
                assert all(cards[j]["location"][2] - a["location"][2] >= STEP - 1e-6 for j in over)
            assert a["material_params"]["card"]["rank"] == a["class"]
        assert len({o["material_params"]["card"]["deck"] for o in cards}) == 1  # one deck per picture
        if how == "pile":
            assert indices_visible(poses)
        if how == "fan":  # each card turned clockwise from the one under it
            yaws = np.unwrap([p[2] for p in poses])
            assert np.all(np.diff(yaws) < 0)


def test_fanned_cards_keep_their_top_left_index_in_view():
    for meta, _ in _sample(only("fan"), "scene.objects.count=[3,6]",
                           "scene.objects.negative_fraction=0", n=20):
        poses = [(o["location"][0], o["location"][1], o["rotation_euler"][2]) for o in meta["objects"]]
        for i, p in enumerate(poses[:-1]):
            top_left = index_points(p)[0]
            assert not any(covers(q, top_left) for q in poses[i + 1:])


def test_sampling_is_deterministic_and_recorded_per_card():
    first, again = _sample(n=8), _sample(n=8)
    assert [m for m, _ in first] == [m for m, _ in again]
    assert all(np.array_equal(g[k], h[k]) for (_, g), (_, h) in zip(first, again) for k in g)
    bent = [o for m, _ in first for o in m["objects"] if o["deform"]]
    assert all(set(o["deform"]["bend"]) == {"sag", "axis"} for o in bent)


def test_cards_never_get_photo_textures():
    for meta, _ in _sample("reality.materials.image_texture_prob=1", n=10):
        for o in meta["objects"]:
            assert o["material"] == "card" and "texture" not in o["material_params"]


@pytest.mark.parametrize("key,value", [
    ("decks", ["plastic"]), ("decks", []), ("arrangement_weights", {"circle": 1.0}),
    ("arrangement_weights", {"fan": 0.0}), ("bend_mm", [3.0, 1.0]), ("tilt_prob", 2.0), ("ink_jitter", -1.0),
])
def test_bad_cards_config_is_one_line_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=rf"scene\.cards\.{key}") as err:
        _sample(n=1, **{key: value})
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- renders
def test_cards_render_with_exact_labels_and_same_seed_same_pixels(tmp_path):
    a = render(tmp_path, "num_images=3", "scene.objects.negative_fraction=0", name="a")
    b = render(tmp_path, "num_images=3", "scene.objects.negative_fraction=0", name="b")
    assert assert_labels_exact(a) > 0
    assert set(a.classes) == set(F.RANKS)
    assert set(sum((r.labels for r in a.records), [])) <= set(F.RANKS)
    for i in range(3):
        assert np.array_equal(a.image(i), b.image(i)) and np.array_equal(a.mask(i), b.mask(i))
    assert [r.meta for r in a.records] == [r.meta for r in b.records]


def _camera_world(cam: dict) -> np.ndarray:
    import bpy  # noqa: F401  (mathutils comes with it)
    from mathutils import Matrix, Quaternion, Vector

    quat = (Vector(cam["look_at"]) - Vector(cam["location"])).to_track_quat("-Z", "Y")
    rot = quat @ Quaternion((0.0, 0.0, 1.0), math.radians(cam["roll_deg"]))
    return np.asarray(Matrix.Translation(cam["location"]) @ rot.to_matrix().to_4x4())


def _card_pixels(meta: dict, points_mm: list[tuple[float, float]], res: int) -> np.ndarray:
    """Pixel positions of points on the card's face, in mm from its top-left corner as drawn."""
    o, cam = meta["objects"][0], meta["camera"]
    local = np.array([[x / 1000 - CARD_W / 2, CARD_H / 2 - y / 1000, CARD_T / 2] for x, y in points_mm])
    world = (local * o["scale"]) @ euler_matrix(o["rotation_euler"]).T + np.asarray(o["location"])
    inv = np.linalg.inv(_camera_world(cam))
    p = world @ inv[:3, :3].T + inv[:3, 3]  # camera space: looking down -z
    f = cam["focal_mm"] / cam["sensor_mm"] * res
    return np.stack([res / 2 + f * p[:, 0] / -p[:, 2], res / 2 - f * p[:, 1] / -p[:, 2]], 1)


def test_face_is_visible_upright_and_not_mirrored(tmp_path):
    ds = render(tmp_path, "num_images=3", "resolution=160", "scene.classes=[ace,nine]", *LONE)
    for i, rec in enumerate(ds.records):
        img, ids = ds.image(i).astype(int), ds.mask(i)
        inside = img[ids == rec.instance_ids[0]]
        paper = (inside.min(-1) > 150).mean()
        inked = ink(inside)
        assert paper > 0.5 and inked.mean() > 0.01  # white card with printing on it
        suit = rec.meta["objects"][0]["material_params"]["card"]["suit"]
        red = (inside[inked][:, 0] - inside[inked][:, 1:].max(1)) > 25
        assert red.mean() > 0.6 if suit in F.RED_SUITS else red.mean() < 0.2
        # the index sits top-left (and bottom-right); the top-right corner is blank paper
        index = _darkness(img, _card_pixels(rec.meta, _grid(2.5, 8.5, 3.5, 17.0), 160))
        blank = _darkness(img, _card_pixels(rec.meta, _grid(54.5, 60.5, 3.5, 17.0), 160))
        assert index > blank + 15, (index, blank)


def _grid(x0: float, x1: float, y0: float, y1: float) -> list[tuple[float, float]]:
    return [(x, y) for x in np.linspace(x0, x1, 5) for y in np.linspace(y0, y1, 9)]


def _darkness(img: np.ndarray, px: np.ndarray) -> float:
    """Mean of 255 - the darkest channel at the given pixel positions."""
    xy = np.rint(px).astype(int)
    return float(255 - img[xy[:, 1], xy[:, 0]].min(-1).mean())
