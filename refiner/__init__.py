"""Refiner stage: GAN refiners (SimGAN, CycleGAN, CUT) that make renders look real."""
