"""Detector stage: torchvision detectors trained on sim / refined / real mixes."""
