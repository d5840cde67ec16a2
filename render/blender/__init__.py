"""Everything that touches ``bpy`` (scene, materials, world, assets)."""
