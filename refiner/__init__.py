"""Refiner stage: GAN refiners (SimGAN, CycleGAN, CUT, FastCUT) and a learned camera that make renders look real."""
