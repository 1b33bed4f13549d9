"""Workloads, their SLAs, model variants, deployment targets and metric observations."""
