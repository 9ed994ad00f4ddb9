"""Objective measures for generated MIDI and audio: likelihood baselines, feature
distributions, spectral statistics and collapse checks, gathered by ``report.evaluate``."""
