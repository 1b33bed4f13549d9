"""The forecasters by name: `make_forecaster("ets", interval_s=300)`, `all_forecasters(...)`."""

from __future__ import annotations

from collections.abc import Callable

from forecasting.base import Forecaster
from forecasting.models.ensemble import ENSEMBLE_MEMBERS, Ensemble
from forecasting.models.seasonal_naive import SeasonalNaive
from forecasting.resampling import AggregatedForecaster, LevelModel


# The level models' libraries (statsmodels, prophet, torch: 300 MB of memory together) load
# when a model is first built, not with this package: the web process imports it (through
# `policies` and the plans app) but never fits a model.
def _ets(seed: int) -> LevelModel:
    from forecasting.models.ets import Ets

    return Ets()


def _sarima(seed: int) -> LevelModel:
    from forecasting.models.sarima import Sarima

    return Sarima()


def _prophet(seed: int) -> LevelModel:
    from forecasting.models.prophet import Prophet

    return Prophet(seed=seed)


def _lstm(seed: int) -> LevelModel:
    from forecasting.models.lstm import Lstm

    return Lstm(seed=seed)


# Level models run at the modelling step through `AggregatedForecaster`; seasonal naive runs at
# the trace's own step (it is the baseline MASE is scaled by).
LEVEL_MODELS: dict[str, Callable[[int], LevelModel]] = {
    "ets": _ets,
    "sarima": _sarima,
    "prophet": _prophet,
    "lstm": _lstm,
}
MODEL_NAMES = ("seasonal_naive", *LEVEL_MODELS)  # the models of the CLI contract
ENSEMBLE = "ensemble"  # the average of ENSEMBLE_MEMBERS, also a model in its own right


def make_forecaster(name: str, *, interval_s: int, seed: int = 0) -> Forecaster:
    """A fresh, unfitted forecaster called `name` for a series at `interval_s` seconds a step.

    `name` is one of `MODEL_NAMES` or `ENSEMBLE`; `auto` lives in `forecasting.selection` (it
    needs a horizon to select for).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name == ENSEMBLE:
        members = [make_forecaster(m, interval_s=interval_s, seed=seed) for m in ENSEMBLE_MEMBERS]
        return Ensemble(members)
    if name == "seasonal_naive":
        return SeasonalNaive(interval_s=interval_s)
    if name not in LEVEL_MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}, {ENSEMBLE}")
    build = LEVEL_MODELS[name]
    return AggregatedForecaster(name, lambda: build(seed), interval_s)


def all_forecasters(*, interval_s: int, seed: int = 0) -> list[Forecaster]:
    """One fresh forecaster of every model in `MODEL_NAMES`, then the ensemble."""
    names = (*MODEL_NAMES, ENSEMBLE)
    return [make_forecaster(name, interval_s=interval_s, seed=seed) for name in names]
