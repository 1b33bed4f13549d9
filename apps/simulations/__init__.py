"""What-if runs and savings replays: the simulator on a workload's traffic, run on a worker."""
