"""Caches with metrics."""
