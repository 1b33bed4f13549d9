"""The served model of benchmarks/fidelity.py: a small torch MLP ranker behind a WSGI app.

One request scores one query's candidates (one inference), as the scenario's ranker variant
does; each worker process uses one thread, one worker per vCPU (`policies.scenario`).
Run by gunicorn as `benchmarks.fidelity_app:app`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import torch

CANDIDATES = 400  # items scored per request (sized for a ~10 ms inference on one core)
FEATURES = 256
HIDDEN = (1024, 512)

torch.set_num_threads(1)
torch.manual_seed(0)
_layers: list[torch.nn.Module] = []
_width = FEATURES
for _h in HIDDEN:
    _layers += [torch.nn.Linear(_width, _h), torch.nn.ReLU()]
    _width = _h
MODEL = torch.nn.Sequential(*_layers, torch.nn.Linear(_width, 1)).eval()


def score_candidates(features: torch.Tensor) -> torch.Tensor:
    """Scores of shape (CANDIDATES,) for features of shape (CANDIDATES, FEATURES)."""
    with torch.inference_mode():
        scores: torch.Tensor = MODEL(features).squeeze(1)
        return scores


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Score one request's candidates; headers carry the inference time and when it began.

    X-Start-Ns is CLOCK_MONOTONIC (`time.perf_counter_ns`, one clock for every process on
    Linux): with the worker kept busy, the gap between two requests' starts is its whole cycle
    per request (accept, parse, inference, answer, close), the service time the queue sees.
    """
    started_ns = time.perf_counter_ns()
    started = time.perf_counter()
    scores = score_candidates(torch.randn(CANDIDATES, FEATURES))
    top = int(torch.argmax(scores))
    inference_us = int((time.perf_counter() - started) * 1e6)
    body = f'{{"top": {top}}}'.encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Inference-Us", str(inference_us)),
            ("X-Start-Ns", str(started_ns)),
        ],
    )
    return [body]
