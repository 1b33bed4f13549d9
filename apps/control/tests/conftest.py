"""The actuation tests' Kubernetes API test server and moto's ALB serve the controller's too."""

import pytest

from apps.actuation.tests.conftest import cluster  # noqa: F401  (a fixture)
from tests.actuators.test_aws import alb  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def fresh_worlds():
    """Each test reads its workloads' worlds anew (the controller caches them per process)."""
    from apps.control.rebuild import forget_worlds

    forget_worlds()
    yield
    forget_worlds()
