"""The own look of user assets: generated colour materials, per-slot copies, jitter nodes.

An asset that keeps its look renders from a copy of its merged mesh datablock (materials,
UV maps, colour attributes included), one copy per object slot with copies of its
materials. Each copied material gets, once, a Hue/Saturation/Value node in front of every
Principled BSDF's Base Color and a clamped Add on its Roughness; these nodes have fixed
names, and an image only sets their inputs from its meta (``material_params.jitter``), so
what it shows still depends on its meta alone.
"""
from __future__ import annotations

import bpy

JITTER_HSV = "sim2real_jitter_hsv"
JITTER_ROUGHNESS = "sim2real_jitter_roughness"
NO_JITTER = {"hue": 0.0, "saturation": 1.0, "value": 1.0, "roughness": 0.0}


def colour_attribute_material(name: str, attribute: str) -> bpy.types.Material:
    """A Principled BSDF whose Base Color reads the colour attribute ``attribute`` (PLY colours)."""
    mat = bpy.data.materials.new(name)
    tree = mat.node_tree
    tree.nodes.clear()
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.inputs["Roughness"].default_value = 0.6
    attr = tree.nodes.new("ShaderNodeAttribute")
    attr.attribute_type, attr.attribute_name = "GEOMETRY", attribute
    tree.links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
    tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat


def slot_copy(data: bpy.types.Mesh, name: str) -> bpy.types.Mesh:
    """A copy of an asset's datablock for one slot, with its own jitter-ready material copies."""
    mesh = data.copy()
    mesh.name = name
    for i, mat in enumerate(mesh.materials):
        if mat is not None:
            own = mat.copy()
            own.name = f"{name}:{mat.name}"
            add_jitter_nodes(own)
            mesh.materials[i] = own
    mesh.use_fake_user = True  # kept while another class occupies the slot
    return mesh


def add_jitter_nodes(mat: bpy.types.Material) -> None:
    """HSV in front of each Principled BSDF's Base Color, clamped Add on its Roughness."""
    tree = mat.node_tree
    if tree is None:
        return
    for bsdf in [n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"]:
        hsv = tree.nodes.new("ShaderNodeHueSaturation")
        hsv.name, hsv.location = JITTER_HSV, (bsdf.location.x - 220, bsdf.location.y)
        hsv.inputs["Factor"].default_value = 1.0
        _reroute(tree, bsdf.inputs["Base Color"], hsv.inputs["Color"], hsv.outputs["Color"])
        add = tree.nodes.new("ShaderNodeMath")
        add.name, add.location = JITTER_ROUGHNESS, (bsdf.location.x - 220, bsdf.location.y - 220)
        add.operation, add.use_clamp = "ADD", True
        _reroute(tree, bsdf.inputs["Roughness"], add.inputs[0], add.outputs[0])
    set_jitter_nodes(mat, NO_JITTER)


def _reroute(tree: bpy.types.NodeTree, target, into, out) -> None:
    """Feed what fed ``target`` (a link or its default value) into ``into``; link ``out`` to ``target``."""
    if target.is_linked:
        tree.links.new(target.links[0].from_socket, into)
    else:
        into.default_value = target.default_value
    tree.links.new(out, target)


def set_jitter(mesh: bpy.types.Mesh, jitter: dict) -> None:
    """Set every slot material's jitter nodes from an image's ``material_params.jitter``."""
    for mat in mesh.materials:
        if mat is not None:
            set_jitter_nodes(mat, jitter)


def set_jitter_nodes(mat: bpy.types.Material, jitter: dict) -> None:
    if mat.node_tree is None:
        return
    for node in mat.node_tree.nodes:
        if node.name.startswith(JITTER_HSV):
            node.inputs["Hue"].default_value = 0.5 + jitter["hue"]  # 0.5: no shift
            node.inputs["Saturation"].default_value = jitter["saturation"]
            node.inputs["Value"].default_value = jitter["value"]
        elif node.name.startswith(JITTER_ROUGHNESS):
            node.inputs[1].default_value = jitter["roughness"]
