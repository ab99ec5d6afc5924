"""Pixie random walks over the pin-board graph: snapshots, kernels, live deltas, endpoints."""
