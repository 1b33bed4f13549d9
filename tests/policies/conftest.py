"""The policies' tests share the simulation tests' scenario fixture."""

from tests.simulation.conftest import scenario  # noqa: F401  (a fixture)
