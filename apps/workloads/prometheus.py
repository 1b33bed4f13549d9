"""`check_brackets` under its old name, for `apps.workloads.models`: see `sources.prometheus`.

The Prometheus client moved to `sources.prometheus`; this name goes when the models import
`check_brackets` from there.
"""

from sources.prometheus import check_brackets

__all__ = ["check_brackets"]
