"""Season lengths and modelling steps chosen per interval and length."""

import numpy as np

from forecasting.seasonality import (
    aggregate_series,
    detect_season,
    estimate_weekly_factors,
    plan_seasons,
)


def test_weeks_of_minutes_are_modelled_hourly_with_daily_and_weekly_seasons(nasa_minutes):
    y, interval_s = nasa_minutes
    plan = plan_seasons(interval_s, y)
    assert (plan.factor, plan.step_s, plan.seasons) == (60, 3600, (24, 168))
    assert plan.native_season == 1440
    assert plan.history == len(y) - len(y) % 60  # 27.6 days: under the 6-week cap


def test_six_weeks_cap_the_history(nasa_minutes):
    y, interval_s = nasa_minutes
    plan = plan_seasons(interval_s, np.tile(y, 3))
    assert plan.history == 6 * 7 * 1440


def test_weekly_season_needs_two_weeks_of_history(nasa_minutes):
    y, interval_s = nasa_minutes
    assert plan_seasons(interval_s, y[: 13 * 1440]).seasons == (24,)
    assert plan_seasons(interval_s, y[: 14 * 1440]).seasons == (24, 168)


def test_less_than_two_days_has_no_calendar_season(nasa_minutes):
    y, interval_s = nasa_minutes
    plan = plan_seasons(interval_s, y[: 2 * 1440 - 1])
    assert plan.factor == 10  # 2,879 minutes -> 287 buckets of 10 minutes
    assert 1440 not in [s * plan.factor for s in plan.seasons]


def test_an_hour_of_seconds_gets_ten_second_buckets_and_no_season(llm_seconds):
    y, interval_s = llm_seconds
    plan = plan_seasons(interval_s, y)
    assert (plan.factor, plan.seasons, plan.native_season) == (10, (), 1)


def test_hourly_series_keeps_its_own_step(cpu_5min):
    y, _ = cpu_5min
    hourly = aggregate_series(y, 12)
    plan = plan_seasons(3600, hourly)
    assert (plan.factor, plan.seasons, plan.native_season) == (1, (24,), 24)


def test_detect_season_finds_a_noisy_cycle():
    rng = np.random.default_rng(0)
    steps = np.arange(600)
    z = 10 + 3 * np.sin(2 * np.pi * steps / 17) + rng.normal(0, 1, 600)
    assert detect_season(z) == 17


def test_detect_season_ignores_a_wandering_level():
    rng = np.random.default_rng(0)
    z = 50 + np.cumsum(rng.normal(0, 1, 600))
    assert detect_season(z) == 1


def test_aggregate_aligns_buckets_to_the_end():
    np.testing.assert_array_equal(aggregate_series(np.arange(7.0), 3), [2.0, 5.0])


def test_weekly_factors_mark_the_quiet_days():
    daily = 24
    days = np.repeat([1.0, 1, 1, 1, 1, 0.5, 0.5], daily)
    shape = 1 + 0.3 * np.sin(2 * np.pi * np.arange(7 * daily) / daily)
    z = np.tile(100 * days * shape, 4)
    factors = estimate_weekly_factors(z, daily).reshape(7, daily).mean(axis=1)
    assert factors[5:].max() < 0.75 < 1.1 < factors[:5].min()
