"""Spend as billed: cloud cost lines pulled from AWS Cost Explorer, CUR 2.0 files or OpenCost."""
