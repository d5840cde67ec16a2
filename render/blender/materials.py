"""Shader node trees for targets, distractors and grounds, built from sampled parameters.

A material's datablock lives as long as its slot; its node tree is rebuilt per image from
the recorded parameters, so an image's look depends only on its meta, not on the images a
worker rendered before it.
"""
from __future__ import annotations

from typing import Any, Callable

import bpy


class Nodes:
    """Small helper: add nodes with input values and link sockets by name or index."""

    def __init__(self, tree: bpy.types.NodeTree) -> None:
        self.tree = tree
        tree.nodes.clear()

    def add(self, kind: str, **inputs: Any) -> bpy.types.Node:
        node = self.tree.nodes.new(kind)
        for name, value in inputs.items():
            if name.startswith("_"):
                setattr(node, name[1:], value)
            else:
                self._input(node, name.replace("_", " ")).default_value = value
        return node

    @staticmethod
    def _input(node, name):
        if node.bl_idname == "ShaderNodeMix" and name in ("A", "B"):
            return node.inputs[6 if name == "A" else 7]
        return node.inputs[name]

    def link(self, src, dst_node, dst: str | int) -> None:
        socket = dst_node.inputs[dst] if isinstance(dst, int) else self._input(dst_node, dst)
        self.tree.links.new(src, socket)

    def mix(self, a, b, fac) -> bpy.types.Node:
        """RGBA mix; ``a``/``b``/``fac`` are values or output sockets."""
        node = self.add("ShaderNodeMix", _data_type="RGBA")
        for val, idx in ((fac, 0), (a, 6), (b, 7)):
            if isinstance(val, bpy.types.NodeSocket):
                self.tree.links.new(val, node.inputs[idx])
            else:
                node.inputs[idx].default_value = (*val, 1.0) if idx else val
        return node

    def coords(self, scale: float, which: str = "Object") -> bpy.types.NodeSocket:
        tc = self.add("ShaderNodeTexCoord")
        mp = self.add("ShaderNodeMapping", Scale=(scale, scale, scale))
        self.link(tc.outputs[which], mp, "Vector")
        return mp.outputs["Vector"]


def _pattern(n: Nodes, tex: dict, vec) -> bpy.types.NodeSocket:
    """A 0..1 factor from a procedural texture (the pattern of a textured material)."""
    kind, s = tex["kind"], tex["scale"]
    if kind == "checker":
        node = n.add("ShaderNodeTexChecker", Scale=s, Color1=(1, 1, 1, 1), Color2=(0, 0, 0, 1))
        out = node.outputs["Factor"]
    elif kind == "stripes":
        node = n.add("ShaderNodeTexWave", Scale=s, Distortion=2.0)
        out = node.outputs["Factor"]
    elif kind == "voronoi":
        node = n.add("ShaderNodeTexVoronoi", Scale=s)
        out = node.outputs["Distance"]
    else:
        node = n.add("ShaderNodeTexNoise", Scale=s, Detail=4.0)
        out = node.outputs["Factor"]
    n.link(vec, node, "Vector")
    return out


def _band_mask(n: Nodes, z0: float, z1: float) -> bpy.types.NodeSocket:
    """1 where normalised object height (Generated z) lies in [z0, z1] (a label band, a cap)."""
    sep = n.add("ShaderNodeSeparateXYZ")
    n.link(n.add("ShaderNodeTexCoord").outputs["Generated"], sep, "Vector")
    gt = n.add("ShaderNodeMath", _operation="GREATER_THAN", _use_clamp=True)
    gt.inputs[1].default_value = z0
    n.link(sep.outputs["Z"], gt, 0)
    lt = n.add("ShaderNodeMath", _operation="LESS_THAN")
    lt.inputs[1].default_value = z1
    n.link(sep.outputs["Z"], lt, 0)
    both = n.add("ShaderNodeMath", _operation="MULTIPLY")
    n.link(gt.outputs[0], both, 0)
    n.link(lt.outputs[0], both, 1)
    return both.outputs[0]


def build_object_material(mat: bpy.types.Material, p: dict,
                          images: Callable[[str], bpy.types.Image] | None = None) -> None:
    """Principled BSDF with optional pattern, label band, cap, wear (dirt) and bump; or a card."""
    if p.get("card"):
        build_card_material(mat, p)
        return
    n = Nodes(mat.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    bsdf = n.add("ShaderNodeBsdfPrincipled", Roughness=p["roughness"], Metallic=p["metallic"])
    bsdf.inputs["Transmission Weight"].default_value = p.get("transmission", 0.0)
    vec = n.coords(1.0)
    color = p["base_color"]
    color_sock = None
    tex = p.get("texture")
    if tex and tex["kind"] == "image":
        node = n.add("ShaderNodeTexImage", _image=images(tex["name"]), _projection="BOX", _projection_blend=0.2)
        n.link(n.coords(tex["scale"]), node, "Vector")
        clamp = n.mix(color, (0, 0, 0), 1.0)  # factor 1 = the texture, clamped to [0, 1] (HDR sources)
        clamp.clamp_result = True
        n.link(node.outputs["Color"], clamp, "B")
        color_sock = clamp.outputs[2]
    elif tex:
        fac = _pattern(n, tex, n.coords(tex["scale"] / 4))
        color_sock = n.mix(color, tex["color"], fac).outputs[2]
    wear = p.get("wear", 0.0)
    if wear > 0:
        noise = n.add("ShaderNodeTexNoise", Scale=6.0, Detail=8.0, Roughness=0.7)
        n.link(vec, noise, "Vector")
        ramp = n.add("ShaderNodeMath", _operation="MULTIPLY_ADD", _use_clamp=True)
        ramp.inputs[1].default_value = 4.0 * wear
        ramp.inputs[2].default_value = -1.6 * wear
        n.link(noise.outputs["Factor"], ramp, 0)
        dirt = n.mix(color_sock or color, (0.09, 0.07, 0.05), ramp.outputs[0])
        color_sock = dirt.outputs[2]
        rough = n.add("ShaderNodeMath", _operation="MULTIPLY_ADD", _use_clamp=True)
        rough.inputs[1].default_value = 0.6
        rough.inputs[2].default_value = p["roughness"]
        n.link(ramp.outputs[0], rough, 0)
        n.link(rough.outputs[0], bsdf, "Roughness")
    if p.get("bump", 0.0) > 0:
        hn = n.add("ShaderNodeTexNoise", Scale=18.0, Detail=6.0)
        n.link(vec, hn, "Vector")
        bump = n.add("ShaderNodeBump", Strength=p["bump"], Distance=0.02)
        n.link(hn.outputs["Factor"], bump, "Height")
        n.link(bump.outputs["Normal"], bsdf, "Normal")
    if color_sock is not None:
        n.link(color_sock, bsdf, "Base Color")
    else:
        bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    shader = bsdf.outputs[0]
    for part in ("band", "cap"):
        spec = p.get(part)
        if not spec:
            continue
        opaque = n.add("ShaderNodeBsdfPrincipled", Roughness=spec.get("roughness", 0.4),
                       Metallic=spec.get("metallic", 0.0))
        if spec.get("pattern"):
            f = _pattern(n, spec["pattern"], n.coords(spec["pattern"]["scale"] / 4))
            n.link(n.mix(spec["color"], spec["pattern"]["color"], f).outputs[2], opaque, "Base Color")
        else:
            opaque.inputs["Base Color"].default_value = (*spec["color"], 1.0)
        mix = n.add("ShaderNodeMixShader")
        n.link(_band_mask(n, spec["z0"], spec["z1"]), mix, 0)
        n.link(shader, mix, 1)
        n.link(opaque.outputs[0], mix, 2)
        shader = mix.outputs[0]
    n.link(shader, out, "Surface")


# ----------------------------------------------------------------------------- cards
def _card_image(n: Nodes, coords, path, flip: bool, size) -> bpy.types.NodeSocket:
    """An image spread over the card's face from object x, y (metres); ``flip`` for the underside."""
    w, h = size
    mp = n.add("ShaderNodeMapping", Location=(0.5, 0.5, 0.0), Scale=((-1.0 if flip else 1.0) / w, 1.0 / h, 1.0))
    n.link(coords.outputs["Object"], mp, "Vector")
    tex = n.add("ShaderNodeTexImage", _image=bpy.data.images.load(str(path), check_existing=True),
                _extension="EXTEND")
    n.link(mp.outputs["Vector"], tex, "Vector")
    return tex.outputs["Color"]


def build_card_material(mat: bpy.types.Material, p: dict) -> None:
    """A playing card (scene=cards): its face on the top (+z), the deck's back below, a plain edge.

    Which side a point is on comes from the object-space normal, so the thin edge keeps
    ``base_color``; a Hue/Saturation/Value node shifts ink and paper a little (``ink``);
    the laminate is a clear coat over a fairly smooth base.
    """
    from render.scenes.card_faces import back_path, face_path

    c = p["card"]
    n = Nodes(mat.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    bsdf = n.add("ShaderNodeBsdfPrincipled", Roughness=p["roughness"], Metallic=0.0, Coat_Weight=p["coat"],
                 Coat_Roughness=0.12)
    tc = n.add("ShaderNodeTexCoord")
    face = _card_image(n, tc, face_path(c["rank"], c["suit"], c["deck"]), False, c["size_m"])
    back = _card_image(n, tc, back_path(c["deck"]), True, c["size_m"])
    side = n.add("ShaderNodeSeparateXYZ")
    n.link(tc.outputs["Normal"], side, "Vector")
    top = n.add("ShaderNodeMath", _operation="GREATER_THAN")
    top.inputs[1].default_value = 0.5
    n.link(side.outputs["Z"], top, 0)
    under = n.add("ShaderNodeMath", _operation="LESS_THAN")
    under.inputs[1].default_value = -0.5
    n.link(side.outputs["Z"], under, 0)
    colour = n.mix(n.mix(p["base_color"], face, top.outputs[0]).outputs[2], back, under.outputs[0])
    ink = p["ink"]
    hsv = n.add("ShaderNodeHueSaturation", Hue=0.5 + ink["hue"], Saturation=ink["saturation"], Value=ink["value"],
                Factor=1.0)
    n.link(colour.outputs[2], hsv, "Color")
    n.link(hsv.outputs["Color"], bsdf, "Base Color")
    n.link(bsdf.outputs[0], out, "Surface")


# ----------------------------------------------------------------------------- grounds
def _ground_plain(n: Nodes, g: dict, vec):
    return None


def _ground_checker(n: Nodes, g: dict, vec):
    node = n.add("ShaderNodeTexChecker", Scale=2.0, Color1=(1, 1, 1, 1), Color2=(0, 0, 0, 1))
    n.link(vec, node, "Vector")
    return node.outputs["Factor"]


def _ground_noise(scale: float, detail: float) -> Callable:
    def build(n: Nodes, g: dict, vec):
        node = n.add("ShaderNodeTexNoise", Scale=scale, Detail=detail, Roughness=0.65)
        n.link(vec, node, "Vector")
        return node.outputs["Factor"]
    return build


def _ground_tiles(n: Nodes, g: dict, vec):
    node = n.add("ShaderNodeTexBrick", Scale=1.5, Mortar_Size=0.015, Bias=0.3,
                 Color1=(1, 1, 1, 1), Color2=(0.7, 0.7, 0.7, 1), Mortar=(0, 0, 0, 1))
    n.link(vec, node, "Vector")
    return node.outputs["Color"]


def _ground_wood(n: Nodes, g: dict, vec):
    node = n.add("ShaderNodeTexWave", Scale=1.2, Distortion=6.0, Detail=3.0, _wave_type="RINGS")
    n.link(vec, node, "Vector")
    return node.outputs["Factor"]


def _ground_fabric(n: Nodes, g: dict, vec):
    node = n.add("ShaderNodeTexWave", Scale=40.0, Distortion=1.0, _bands_direction="DIAGONAL")
    n.link(vec, node, "Vector")
    return node.outputs["Factor"]


def _ground_carpet(n: Nodes, g: dict, vec):
    """Mottled pile: fine many-octave noise."""
    node = n.add("ShaderNodeTexNoise", Scale=30.0, Detail=12.0, Roughness=0.75)
    n.link(vec, node, "Vector")
    contrast = n.add("ShaderNodeMath", _operation="MULTIPLY_ADD", _use_clamp=True)
    contrast.inputs[1].default_value, contrast.inputs[2].default_value = 3.0, -1.0
    n.link(node.outputs["Factor"], contrast, 0)
    return contrast.outputs[0]


def _ground_paper(n: Nodes, g: dict, vec):
    """A sheet of paper (its colours are paled, see build_ground_material): faint cloudiness."""
    node = n.add("ShaderNodeTexNoise", Scale=3.0, Detail=3.0)
    n.link(vec, node, "Vector")
    return node.outputs["Factor"]


def _ground_wood_grain(n: Nodes, g: dict, vec):
    """A table top: long streaky grain along x on planks with dark seams (colours: ``_woody``)."""
    stretch = n.add("ShaderNodeMapping", Scale=(1.2, 22.0, 1.0))
    n.link(vec, stretch, "Vector")
    grain = n.add("ShaderNodeTexNoise", Scale=4.0, Detail=9.0, Roughness=0.62, Distortion=0.6)
    n.link(stretch.outputs["Vector"], grain, "Vector")
    contrast = n.add("ShaderNodeMath", _operation="MULTIPLY_ADD", _use_clamp=True)
    contrast.inputs[1].default_value, contrast.inputs[2].default_value = 2.5, -0.75
    n.link(grain.outputs["Factor"], contrast, 0)
    planks = n.add("ShaderNodeTexBrick", Scale=1.0, Mortar_Size=0.01, Mortar_Smooth=0.3, Bias=0.0,
                   Brick_Width=12.0, Row_Height=1.5, Color1=(0, 0, 0, 1), Color2=(0.25, 0.25, 0.25, 1),
                   Mortar=(1, 1, 1, 1))
    n.link(vec, planks, "Vector")
    tone = n.add("ShaderNodeSeparateColor")
    n.link(planks.outputs["Color"], tone, "Color")
    both = n.add("ShaderNodeMath", _operation="MAXIMUM")
    n.link(contrast.outputs[0], both, 0)
    n.link(tone.outputs[0], both, 1)
    return both.outputs[0]


def _pale(colour: list[float], white: float = 0.7) -> list[float]:
    """Mostly white with a hint of ``colour`` (linear RGB): paper, a tablecloth."""
    return [round(0.85 * white + 0.15 * c, 4) for c in colour]


def _woody(colour: list[float], dark: float = 1.0) -> list[float]:
    """A wood tone (linear RGB) nudged by ``colour``: from pale oak to walnut."""
    return [round((0.7 * w + 0.3 * c * w / 0.3) * dark, 4) for w, c in zip((0.3, 0.14, 0.055), colour)]


TINTED = {  # grounds whose sampled colours are mapped into their own range
    "paper": lambda c1, c2: (_pale(c1), _pale(c2, 0.62)),
    "wood_grain": lambda c1, c2: (_woody(c1), _woody(c1, 0.45)),
}


GROUNDS: dict[str, Callable] = {
    "plain": _ground_plain,
    "checker": _ground_checker,
    "concrete": _ground_noise(8.0, 10.0),
    "grass": _ground_noise(30.0, 6.0),
    "asphalt": _ground_noise(60.0, 8.0),
    "tiles": _ground_tiles,
    "wood": _ground_wood,
    "fabric": _ground_fabric,
    "carpet": _ground_carpet,
    "paper": _ground_paper,
    "wood_grain": _ground_wood_grain,
}


def build_ground_material(mat: bpy.types.Material, g: dict, *, textured: bool,
                          images: Callable[[str], bpy.types.Image] | None = None) -> None:
    """Ground shader; ``textured`` (proxy_real) adds fine bump and roughness variation; a photo
    texture (``g["image"]``: name, tile size factor, mix) goes over the pattern when sampled."""
    if g["material"] not in GROUNDS:
        from sim2real.errors import ConfigError
        raise ConfigError(f"scene.ground.materials: unknown {g['material']!r}; choose from {sorted(GROUNDS)}")
    n = Nodes(mat.node_tree)
    out = n.add("ShaderNodeOutputMaterial")
    bsdf = n.add("ShaderNodeBsdfPrincipled", Roughness=0.75)
    vec = n.coords(g["scale"], "Object")
    fac = GROUNDS[g["material"]](n, g, vec)
    color2 = g["color2"] if g["material"] not in ("grass",) else [c * 0.5 for c in g["color"]]
    color = g["color"]
    if g["material"] in TINTED:
        color, color2 = TINTED[g["material"]](color, color2)
    base = None if fac is None else n.mix(color, color2, fac).outputs[2]
    photo = g.get("image")
    if photo and images is not None:
        node = n.add("ShaderNodeTexImage", _image=images(photo["name"]), _extension="REPEAT")
        n.link(n.coords(g["scale"] * photo["tile"], "Object"), node, "Vector")
        clamp = n.mix(color, (0, 0, 0), 1.0)  # HDR panoramas as texture: clamp to [0, 1]
        clamp.clamp_result = True
        n.link(node.outputs["Color"], clamp, "B")
        base = n.mix(base if base is not None else color, (0, 0, 0), photo["mix"])
        n.link(clamp.outputs[2], base, "B")
        base = base.outputs[2]
    if base is None:
        bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    else:
        n.link(base, bsdf, "Base Color")
    if textured:
        hn = n.add("ShaderNodeTexNoise", Scale=25.0, Detail=8.0)
        n.link(vec, hn, "Vector")
        bump = n.add("ShaderNodeBump", Strength=0.35, Distance=0.05)
        n.link(hn.outputs["Factor"], bump, "Height")
        n.link(bump.outputs["Normal"], bsdf, "Normal")
        rough = n.add("ShaderNodeMath", _operation="MULTIPLY_ADD", _use_clamp=True)
        rough.inputs[1].default_value = 0.5
        rough.inputs[2].default_value = 0.45
        n.link(hn.outputs["Factor"], rough, 0)
        n.link(rough.outputs[0], bsdf, "Roughness")
    n.link(bsdf.outputs[0], out, "Surface")
