"""Detector stage: torchvision detectors trained on sim / refined / real mixes.

``train.load_detector(path)`` rebuilds a trained detector from its checkpoint (train/checkpoint.py).
"""


def __getattr__(name: str):  # lazy: importing train.config (every CLI start) must not import torch
    if name in ("load_detector", "LoadedDetector"):
        from train import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'train' has no attribute {name!r}")
