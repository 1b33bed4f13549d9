"""Shared fixtures: slices of the real traces shipped in data/traces."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from forecasting.trace import Trace, read_trace

TRACES = Path(__file__).resolve().parents[2] / "data" / "traces"


@cache
def load_trace(name: str) -> Trace:
    return read_trace(TRACES / name)


@pytest.fixture(scope="session")
def cpu_5min() -> tuple[np.ndarray, int]:
    """Ten days of Azure VM CPU demand at 5 minutes (2,880 points): daily cycle, smooth."""
    trace = load_trace("azure_vm2019_cpu_5min.csv")
    return trace.values[-2880:], trace.interval_s


@pytest.fixture(scope="session")
def nasa_minutes() -> tuple[np.ndarray, int]:
    """The NASA web log, 27.6 days of requests per minute: daily and weekly cycles."""
    trace = load_trace("nasa_http_1995-07_1min.csv")
    return trace.values, trace.interval_s


@pytest.fixture(scope="session")
def genai_minutes() -> tuple[np.ndarray, int]:
    """Alibaba diffusion-model requests per minute: sparse (70 % zeros) and bursty."""
    trace = load_trace("alibaba_genai_sd_requests_2024_1min.csv")
    return trace.values, trace.interval_s


@pytest.fixture(scope="session")
def llm_seconds() -> tuple[np.ndarray, int]:
    """Azure LLM conversation requests per second, 58 minutes."""
    trace = load_trace("azure_llm_conv_2023-11-16_1s.csv")
    return trace.values, trace.interval_s
