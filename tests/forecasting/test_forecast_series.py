"""forecast_series: the call the app makes, plain numbers in and out."""

import numpy as np
import pytest

from forecasting.base import SeriesError
from forecasting.forecast import forecast_series
from forecasting.selection import AutoForecaster


def test_auto_on_weeks_of_minutes_reports_model_seasons_scores_and_reason(nasa_minutes):
    y, interval_s = nasa_minutes
    result = forecast_series(y[-21 * 1440 :], interval_s, horizon=120, seed=0)
    assert result.forecast.mean.shape == (120,)
    assert sorted(result.forecast.quantiles) == [0.5, 0.9, 0.99]
    assert result.step_s == 3600 and result.interval_s == 60
    assert set(result.scores) == {"seasonal_naive", "ets", "sarima", "prophet", "lstm", "ensemble"}
    members = result.model.split("+")
    assert len(members) == 2 and set(members) < set(result.scores) - {"ensemble"}
    assert result.reason.startswith(f"the average of {members[0]} and {members[1]}")
    assert "backtest folds of 120 steps" in result.reason
    if result.model != "seasonal_naive":
        assert result.season_lengths == (1440, 10080)


def test_auto_forecast_is_the_chosen_model_with_calibrated_widths(cpu_5min):
    y, interval_s = cpu_5min[0][-2016:], cpu_5min[1]  # one week
    result = forecast_series(y, interval_s, horizon=24, seed=0)
    auto = AutoForecaster(interval_s=interval_s, horizon=24, seed=0).fit(y)
    assert auto.selection_.width_factor != 1  # else this test could not tell the difference
    expected = auto.predict(24)
    assert result.model == auto.selection_.chosen and result.reason == auto.selection_.reason
    np.testing.assert_array_equal(result.forecast.quantiles[0.99], expected.quantiles[0.99])


def test_a_named_model_is_used_as_requested(cpu_5min):
    y, interval_s = cpu_5min
    result = forecast_series(y, interval_s, horizon=24, model="sarima", quantiles=(0.1, 0.9))
    assert (result.model, result.reason, result.scores) == ("sarima", "sarima as requested", None)
    assert result.season_lengths == (288,)
    assert (result.forecast.quantiles[0.1] <= result.forecast.quantiles[0.9]).all()


def test_seasonal_naive_reports_the_season_it_repeats(cpu_5min):
    y, interval_s = cpu_5min
    result = forecast_series(y, interval_s, horizon=24, model="seasonal_naive")
    assert result.season_lengths in ((288,), (2016,))


def test_an_hour_of_seconds_is_forecast_without_a_daily_season(llm_seconds):
    y, interval_s = llm_seconds
    result = forecast_series(y, interval_s, horizon=300, model="ensemble")
    assert result.season_lengths == () and result.step_s == 10
    assert 2 < result.forecast.mean.mean() < 10  # about 5.5 requests per second


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1.0] * 10, "the series has 10 points; at least 48 are needed"),
        ([3.0] * 100, "constant"),
        ([1.0, float("nan")] * 50, "index 1 is nan; fill gaps"),
    ],
)
def test_unforecastable_series_raise_series_error(values, message):
    with pytest.raises(SeriesError, match=message):
        forecast_series(np.array(values), 60, horizon=10)


def test_series_error_is_a_value_error():
    assert issubclass(SeriesError, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "arima"}, "unknown model 'arima'"),
        ({"horizon": 0}, "horizon must be an integer >= 1"),
        ({"quantiles": (0.5, 1.5)}, "quantiles must be levels in"),
    ],
)
def test_bad_arguments_raise_value_error(cpu_5min, kwargs, message):
    y, interval_s = cpu_5min
    with pytest.raises(ValueError, match=message):
        forecast_series(y, interval_s, **{"horizon": 5, **kwargs})
