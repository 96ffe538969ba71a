"""Whole-graph analyses: cost, memory, receptive field; each returns plain dataclasses."""
