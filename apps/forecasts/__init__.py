"""Forecast runs per workload: requested, computed on a worker, stored compactly."""
