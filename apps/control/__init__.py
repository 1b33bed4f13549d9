"""The live controller: each step, a workload's policy on its newest metrics, then its targets."""
