"""One contract for every forecaster, auto included, on a slice of a real trace."""

from functools import cache

import numpy as np
import pytest

from forecasting.base import Forecast, SeriesError
from forecasting.calibration import calibrate_noise, conformal_level
from forecasting.models import ENSEMBLE, MODEL_NAMES, make_forecaster
from forecasting.models.lstm import PATHS
from forecasting.selection import AutoForecaster

NAMES = (*MODEL_NAMES, ENSEMBLE, "auto")
HORIZON = 36  # three hours of 5-minute steps: crosses hourly bucket edges
LEVELS = (0.05, 0.5, 0.9, 0.95, 0.99)


def build(name: str, interval_s: int, seed: int = 0):
    if name == "auto":
        return AutoForecaster(interval_s=interval_s, horizon=HORIZON, seed=seed)
    return make_forecaster(name, interval_s=interval_s, seed=seed)


@cache
def fitted_forecast(name: str, seed: int, values: bytes, interval_s: int) -> Forecast:
    y = np.frombuffer(values)
    return build(name, interval_s, seed).fit(y).predict(HORIZON, LEVELS)


@pytest.fixture
def forecast_of(cpu_5min):
    y, interval_s = cpu_5min

    def forecast(name: str, seed: int = 0) -> Forecast:
        return fitted_forecast(name, seed, y.tobytes(), interval_s)

    return forecast


@pytest.mark.parametrize("name", NAMES)
def test_forecast_has_the_horizon_and_the_requested_levels(name, forecast_of):
    forecast = forecast_of(name)
    assert forecast.mean.shape == (HORIZON,)
    assert sorted(forecast.quantiles) == list(LEVELS)
    assert all(values.shape == (HORIZON,) for values in forecast.quantiles.values())


@pytest.mark.parametrize("name", NAMES)
def test_quantiles_are_finite_ordered_and_non_negative(name, forecast_of):
    table = np.vstack([forecast_of(name).quantiles[q] for q in LEVELS])
    assert np.isfinite(table).all()
    assert (table >= 0).all()
    assert (np.diff(table, axis=0) >= 0).all()
    assert (table[-1] > table[0]).any()  # an interval, not a point


@pytest.mark.parametrize("name", NAMES)
def test_forecast_stays_near_the_level_of_the_series(name, forecast_of, cpu_5min):
    y, _ = cpu_5min
    mean = forecast_of(name).mean
    assert (mean > 0.8 * y[-288:].min()).all() and (mean < 1.2 * y[-288:].max()).all()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_repeats_exactly(name, cpu_5min, forecast_of):
    y, interval_s = cpu_5min
    first = forecast_of(name, seed=0)
    second = build(name, interval_s, seed=0).fit(y).predict(HORIZON, LEVELS)
    np.testing.assert_array_equal(first.mean, second.mean)
    for q in LEVELS:
        np.testing.assert_array_equal(first.quantiles[q], second.quantiles[q])


def test_lstm_seed_changes_the_samples(forecast_of):
    assert not np.array_equal(
        forecast_of("lstm", 0).quantiles[0.9], forecast_of("lstm", 1).quantiles[0.9]
    )


@pytest.mark.parametrize("name", [*MODEL_NAMES, ENSEMBLE])
def test_any_quantile_levels_can_be_asked_for(name, cpu_5min):
    y, interval_s = cpu_5min
    forecaster = make_forecaster(name, interval_s=interval_s).fit(y[-600:])
    forecast = forecaster.predict(5, quantiles=(0.75, 0.01, 0.3))
    assert sorted(forecast.quantiles) == [0.01, 0.3, 0.75]
    assert (forecast.quantiles[0.01] <= forecast.quantiles[0.3]).all()
    with pytest.raises(ValueError, match="quantiles"):
        forecaster.predict(5, quantiles=(0.5, 1.0))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("series", "message"),
    [
        (np.full(500, 7.0), "constant"),
        (np.r_[np.arange(100.0), np.nan, np.arange(100.0)], "index 100 is nan"),
        (np.r_[np.arange(100.0), -1.0], "must be >= 0"),
        (np.arange(10.0), "at least 48"),
        (np.array([]), "at least 48"),
    ],
    ids=["constant", "nan", "negative", "too-short", "empty"],
)
def test_unforecastable_series_are_refused_with_a_reason(name, series, message):
    with pytest.raises(SeriesError, match=message):
        build(name, 300).fit(series)


@pytest.mark.parametrize("name", ("seasonal_naive", "ets", "sarima", "prophet"))
@pytest.mark.parametrize("unit", (1e-4, 1e4))
def test_forecast_does_not_depend_on_the_unit_of_the_series(name, unit, nasa_minutes):
    # The same load in other units (a CPU level of 0.4 or 6e6, counts per hour or per minute)
    # must give the same forecast in those units: fitting is not allowed to hinge on scale.
    y, _ = nasa_minutes
    hourly = y[-27 * 1440 :].reshape(-1, 60).sum(axis=1)
    levels = (0.05, 0.5, 0.95)
    base = make_forecaster(name, interval_s=3600).fit(hourly).predict(24, levels)
    scaled = make_forecaster(name, interval_s=3600).fit(hourly * unit).predict(24, levels)
    tolerance = 0.01 * base.mean.max()  # optimisers' own tolerances move a fit slightly
    assert np.allclose(scaled.mean / unit, base.mean, rtol=0, atol=tolerance)
    for q in (0.05, 0.95):
        assert np.allclose(scaled.quantiles[q] / unit, base.quantiles[q], rtol=0, atol=tolerance)


@pytest.mark.parametrize("name", NAMES)
def test_a_count_series_gets_whole_number_quantiles(name, genai_minutes, forecast_of):
    # Two days of sparse GenAI requests per minute: a 5 % quantile of 0.3 requests would call
    # every idle minute a miss, as no count lies between 0 and 1. The window ends on a quiet
    # minute (one request), so a forecast that repeats the last value has low quantiles too.
    y, interval_s = genai_minutes
    assert y[-2] == 1
    counts = fitted_forecast(name, 0, y[-2881:-1].tobytes(), interval_s)
    assert counts.whole
    for values in counts.quantiles.values():
        np.testing.assert_array_equal(values, np.round(values))
    assert (counts.quantiles[0.05] == 0).any() and (counts.quantiles[0.99] >= 1).any()
    levels = forecast_of(name)  # CPU levels are not counts: left as they are
    assert not levels.whole
    assert any((v != np.round(v)).any() for v in levels.quantiles.values())


def test_prophet_follows_a_level_change_in_the_last_fifth_of_the_history():
    # Four weeks of hourly load with a daily shape, up by half for the last 100 hours (15 % of
    # the history). Prophet's default range keeps the trend fixed over the last 20 % and
    # forecasts about 18 below the new level; with 0.95 it lands within about 2.
    hours = np.arange(672)
    rng = np.random.default_rng(4)
    y = 100 + 30 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 3, len(hours))
    y[-100:] += 50
    forecast = build("prophet", 3600).fit(y).predict(24)
    expected = 150 + 30 * np.sin(2 * np.pi * (672 + np.arange(24)) / 24)
    assert np.mean(np.abs(forecast.mean - expected)) < 6


def test_lstm_noise_is_the_least_that_covers_the_conformal_share_of_the_holdout():
    # Paths that all say 10 against actuals scattered around 10: the paths alone cover nothing,
    # so the noise must carry the interval, and one step less noise must cover too little.
    rng = np.random.default_rng(0)
    actual = 10 + rng.normal(0, 2.0, 48)
    paths = np.full((PATHS, 48), 10.0)
    noise = np.random.default_rng(1).standard_normal((PATHS, 48))
    sd = calibrate_noise(paths, actual, noise)
    rmse = np.sqrt(np.mean((actual - 10) ** 2))

    def covered(scale: float) -> float:
        lower, upper = np.quantile(paths + scale * noise, (0.05, 0.95), axis=0)
        return np.mean((actual >= lower) & (actual <= upper))

    assert covered(sd) >= conformal_level(48) > 0.9
    assert covered(sd - 0.05 * rmse) < conformal_level(48)
    assert calibrate_noise(paths + 50 * noise, actual, noise) == 0  # wide enough already


def test_lstm_interval_covers_most_of_the_next_days(nasa_minutes):
    # Hourly NASA requests, eight one-day forecasts from origins a day apart, each fitted on
    # everything before it. The paths' spread stretched by at most 3x (the earlier calibration)
    # covered 64 % of these hours; the calibrated noise covers 79 % here.
    y, _ = nasa_minutes
    hourly = y[: 27 * 1440].reshape(-1, 60).sum(axis=1)
    inside = []
    for origin in range(456, 625, 24):
        forecast = build("lstm", 3600).fit(hourly[:origin]).predict(24, (0.05, 0.5, 0.95))
        actual = hourly[origin : origin + 24]
        inside += list((actual >= forecast.quantiles[0.05]) & (actual <= forecast.quantiles[0.95]))
    assert np.mean(inside) >= 0.72


def test_seasonal_naive_forecasts_past_its_history_by_repeating_its_last_season():
    """A day ahead of 48 minutes of history (the simulator's first plan) repeats the last value."""
    from forecasting.models.seasonal_naive import SeasonalNaive

    y = np.arange(48.0)
    forecast = SeasonalNaive(season_length=1, interval_s=60).fit(y).predict(1440, (0.5,))
    assert forecast.mean.tolist() == [47.0] * 1440
    weekly = SeasonalNaive(season_length=4, interval_s=60).fit(y).predict(100, (0.5,))
    assert weekly.mean.tolist() == [44.0, 45.0, 46.0, 47.0] * 25
