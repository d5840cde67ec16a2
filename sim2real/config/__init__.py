"""Config pieces every stage shares (logger, trainer, the shared choices).

Each stage owns its schema, next to the code that reads it (``render/config.py``,
``refiner/config.py``, ``train/config.py``, ``pipeline/config.py``) and stores it in Hydra's
ConfigStore when imported. Each primary config (``sim2real/conf/<stage>.yaml``) starts its defaults list
with ``<stage>_schema``, so composition checks every key and type before any work starts: an
unknown key or a wrong type fails naming the key.
"""
