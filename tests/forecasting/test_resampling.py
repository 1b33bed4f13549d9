"""Mapping bucket forecasts back to the trace's interval, with the within-bucket profile."""

import numpy as np

from forecasting.backtest import score_forecast
from forecasting.metrics import compute_coverage
from forecasting.models import make_forecaster
from forecasting.resampling import estimate_bucket_noise, interpolate_levels


def test_interpolation_joins_the_last_bucket_and_keeps_flat_levels_flat():
    levels = np.array([[4.0, 4.0, 4.0]])
    np.testing.assert_allclose(interpolate_levels(levels, 5), 4.0)
    rising = interpolate_levels(np.array([[10.0]]), 4, anchor=np.array([2.0]))[0]
    assert rising[0] > 2.0 and rising[-1] == 10.0 and (np.diff(rising) >= 0).all()


def test_a_burst_at_the_top_of_each_hour_is_kept_in_the_profile():
    rng = np.random.default_rng(1)
    y = rng.poisson(20, size=(24 * 10, 60)).astype(float)
    y[:, 0] += 200
    noise = estimate_bucket_noise(y.ravel(), 60)
    assert noise.profile[0] > 5 * noise.profile[1:].mean()
    assert abs(noise.profile[1:].mean() - 1) < 0.2


def test_a_flat_profile_stays_flat_under_noise():
    rng = np.random.default_rng(2)
    noise = estimate_bucket_noise(rng.poisson(3, size=24 * 60 * 7).astype(float), 60)
    assert np.abs(noise.profile - 1).max() < 0.1


def test_sparse_minute_counts_keep_their_upper_tail(genai_minutes):
    y, interval_s = genai_minutes
    history, actual = y[-8 * 1440 : -1440], y[-1440:]
    forecast = make_forecaster("ets", interval_s=interval_s).fit(history).predict(1440, (0.5, 0.99))
    assert np.median(forecast.quantiles[0.5]) == 0  # most minutes are empty
    assert forecast.quantiles[0.99].max() >= 5
    assert compute_coverage(actual, np.zeros(1440), forecast.quantiles[0.99]) >= 0.95


def test_hourly_models_beat_repeating_yesterday_on_minute_web_traffic(nasa_minutes):
    y, interval_s = nasa_minutes
    history, actual = y[: -1440 * 3], y[-1440 * 3 : -1440 * 2]
    scores = {}
    for name in ("seasonal_naive", "sarima"):
        forecast = (
            make_forecaster(name, interval_s=interval_s)
            .fit(history)
            .predict(1440, (0.05, 0.5, 0.95))
        )
        scores[name] = score_forecast(forecast, actual, 1.0, len(history)).mase
    assert scores["sarima"] < scores["seasonal_naive"]
