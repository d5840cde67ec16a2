"""Render stage: Blender (bpy, Cycles) scenes with exact labels. The only package importing bpy."""
