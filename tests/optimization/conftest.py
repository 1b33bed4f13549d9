"""Small seeded problems shared by the optimization tests."""

import pytest

from optimization.problem import Weights
from optimization.suite import generate_problem


@pytest.fixture(scope="session")
def small_problem():
    """6 intervals x 8 offers x 2 variants, cost-only objective."""
    return generate_problem("small", n_intervals=6, n_offers=8, n_variants=2, seed=2, peak_rps=400)


@pytest.fixture(scope="session")
def medium_problem():
    """12 x 16 x 2 with serverless and a step limit: every repair step has work to do."""
    return generate_problem(
        "medium",
        n_intervals=12,
        n_offers=16,
        n_variants=2,
        seed=11,
        peak_rps=900,
        serverless=True,
        max_change_per_interval=4,
    )


@pytest.fixture(scope="session")
def tiny_full_problem():
    """3 x 4 x 1 with the default (cost + SLA) weights, small enough to enumerate."""
    return generate_problem(
        "tiny", n_intervals=3, n_offers=4, n_variants=1, seed=1, peak_rps=120, weights=Weights()
    )
