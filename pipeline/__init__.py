"""The top floor: the ``sim2real`` command runs render -> refine -> train -> report.

It composes each stage's config, runs the stages (reusing finished ones), plans the detector
mixes, and writes the report with the gap diagnostics; the refiner search objective lives here
too. It may import every stage and the core; nothing imports it.
"""
