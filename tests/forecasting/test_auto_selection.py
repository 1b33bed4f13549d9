"""The auto forecaster: what it picks, why, and that the CLI's shortcut equals it."""

import numpy as np
import pytest

from forecasting.backtest import Backtest, FoldScore, add_ensemble, run_backtest
from forecasting.base import Forecast
from forecasting.calibration import calibrate_width
from forecasting.models import ENSEMBLE, make_forecaster
from forecasting.selection import (
    AutoForecaster,
    candidate_scores,
    score_auto_folds,
    select_model,
    selection_folds,
)

CHEAP = ("seasonal_naive", "ets", "sarima", "prophet")


def folds_scoring(*values: float) -> list[FoldScore]:
    return [FoldScore(0, v, 0.0, 0.9, v, v, 0.0, 0.0) for v in values]


def test_auto_averages_the_two_lowest_scores_weighted_and_says_why():
    scores = {
        "seasonal_naive": folds_scoring(1.5, 1.5),
        "ets": folds_scoring(1.0, 1.0),
        "lstm": folds_scoring(1.8, 1.6),
    }
    selection = select_model(scores, horizon=24)
    assert selection.members == ("ets", "seasonal_naive")
    assert selection.chosen == "ets+seasonal_naive"
    # 1 / 1.0^2 and 1 / 1.5^2 are 1 and 4/9: shares 9/13 and 4/13
    assert selection.weights == pytest.approx((9 / 13, 4 / 13))
    assert selection.reason.startswith(
        "the average of ets and seasonal_naive weighted 0.69/0.31 (1 / score ** 2), the 2 "
        "lowest mean pinball_scaled over the last 2 backtest folds of 24 steps"
    )
    assert "lstm 1.7" in selection.reason
    alone = select_model(scores, horizon=24, combined=1)
    assert (alone.members, alone.weights) == (("ets",), (1.0,))
    equal = select_model(scores, horizon=24, power=0)
    assert equal.weights == (0.5, 0.5) and "weighted" not in equal.reason


def test_a_candidate_that_was_exact_on_the_selection_folds_takes_all_the_weight():
    scores = {"seasonal_naive": folds_scoring(0.0, 0.0), "ets": folds_scoring(0.2, 0.4)}
    assert select_model(scores, horizon=24).weights == pytest.approx((1.0, 0.0))


def test_the_ensemble_is_left_out_of_the_choice_so_no_model_counts_twice():
    fold = folds_scoring(1.0)[0]
    names = ("seasonal_naive", "ets", ENSEMBLE)
    backtest = Backtest(24, (0, 24), (1.0, 1.0), {n: [fold, fold] for n in names}, {})
    assert list(candidate_scores(backtest)) == ["seasonal_naive", "ets"]
    assert candidate_scores(backtest, slice(1, 2))["ets"] == [fold]


def test_a_model_that_refused_a_fold_is_not_eligible():
    refused = FoldScore(0, *[float("nan")] * 7, error="too short")
    scores = {"ets": [refused, *folds_scoring(0.1)], "sarima": folds_scoring(0.5, 0.5)}
    selection = select_model(scores, horizon=24)
    assert selection.members == ("sarima",)
    assert selection.reason.startswith("sarima alone") and "ets refused" in selection.reason


def test_too_narrow_intervals_are_widened():
    actual = np.tile([8.0, 12.0], 50)
    narrow = Forecast(np.full(100, 10.0), {q: np.full(100, 9.0 + 2 * q) for q in (0.05, 0.5, 0.95)})
    assert calibrate_width([narrow], [actual]) > 1.5


def test_calibration_covers_the_conformal_level_with_the_smallest_width():
    rng = np.random.default_rng(0)
    actual = rng.normal(10.0, 0.3, 39)  # 39 steps: the conformal level is ceil(40 x 0.9) / 39
    flat = Forecast(np.full(39, 10.0), {q: np.full(39, 9.5 + q) for q in (0.05, 0.5, 0.95)})
    factor = calibrate_width([flat], [actual])
    inside = lambda k: np.mean(np.abs(actual - 10.0) <= 0.45 * k)  # noqa: E731
    assert inside(factor) >= 36 / 39 > 0.9
    assert inside(factor - 0.05) < 36 / 39


def test_auto_fitted_at_an_origin_chooses_what_the_backtest_shortcut_says(llm_seconds):
    y, interval_s = llm_seconds
    y = y[:1500]
    candidates = [make_forecaster(n, interval_s=interval_s) for n in CHEAP]
    backtest = add_ensemble(
        run_backtest(y, candidates, interval_s=interval_s, horizon=120, folds=3), y
    )
    shortcut, selections = score_auto_folds(backtest, y, warmup=2)
    origin = backtest.origins[2]
    auto = AutoForecaster(interval_s=interval_s, horizon=120, candidates=CHEAP, folds=2)
    auto.fit(y[:origin])
    assert auto.selection_ == selections[0]
    forecast = auto.predict(120, (0.05, 0.5, 0.9, 0.95, 0.99))
    actual = y[origin : origin + 120]
    inside = (actual >= forecast.quantiles[0.05]) & (actual <= forecast.quantiles[0.95])
    assert np.mean(inside) == pytest.approx(shortcut[0].coverage_90)


def test_auto_falls_back_to_the_ensemble_on_a_short_history(cpu_5min):
    y, interval_s = cpu_5min
    auto = AutoForecaster(interval_s=interval_s, horizon=288).fit(y[:400])
    assert auto.selection_.chosen == ENSEMBLE
    assert "by default" in auto.selection_.reason and "need at least 864" in auto.selection_.reason
    assert auto.predict(10).mean.shape == (10,)


@pytest.fixture
def service_waking_up(genai_minutes) -> tuple[np.ndarray, int]:
    """13 idle hours of the diffusion service (every minute 0), then its first half hour back."""
    y, interval_s = genai_minutes
    return y[579 : 579 + 830], interval_s


def test_auto_falls_back_when_every_candidate_refused_a_selection_fold(service_waking_up):
    # The selection folds' histories are all zeros, which every model refuses, yet the whole
    # series can be forecast: auto must not refuse what seasonal naive forecasts.
    y, interval_s = service_waking_up
    auto = AutoForecaster(interval_s=interval_s, horizon=30, candidates=CHEAP).fit(y)
    assert auto.selection_.chosen == ENSEMBLE
    assert "by default" in auto.selection_.reason and "refused" in auto.selection_.reason
    assert auto.predict(30).mean.shape == (30,)


def test_the_backtest_shortcut_falls_back_as_auto_does(service_waking_up):
    y, interval_s = service_waking_up
    candidates = [make_forecaster(n, interval_s=interval_s) for n in CHEAP]
    backtest = add_ensemble(
        run_backtest(y, candidates, interval_s=interval_s, horizon=30, folds=3), y
    )
    shortcut, selections = score_auto_folds(backtest, y, warmup=2)
    auto = AutoForecaster(interval_s=interval_s, horizon=30, candidates=CHEAP, folds=2)
    assert auto.fit(y[: backtest.origins[2]]).selection_ == selections[0]
    assert shortcut[0].error is None and shortcut[0].mase == backtest.scores[ENSEMBLE][2].mase


@pytest.mark.parametrize(("horizon", "folds"), [(1, 12), (4, 3), (5, 3), (6, 2), (24, 2)])
def test_auto_selects_on_at_least_twelve_steps(horizon, folds):
    assert selection_folds(horizon) == folds
    assert AutoForecaster(interval_s=60, horizon=horizon).folds == folds


def test_auto_one_step_ahead_fits_its_width_on_twelve_points(cpu_5min):
    y, interval_s = cpu_5min
    auto = AutoForecaster(interval_s=interval_s, horizon=1, candidates=("seasonal_naive", "ets"))
    auto.fit(y[-1000:])
    assert len(auto.backtest_.origins) == 12
    assert "over the last 12 backtest folds of 1 steps" in auto.selection_.reason


def test_auto_forecasts_the_weighted_average_of_its_two_members_fitted_alone(cpu_5min):
    y, interval_s = cpu_5min[0][-2016:], cpu_5min[1]  # one week
    auto = AutoForecaster(interval_s=interval_s, horizon=24, candidates=CHEAP).fit(y)
    first, second = auto.selection_.members
    assert auto.model_.name == f"{first}+{second}" == auto.selection_.chosen
    a, b = auto.selection_.weights
    scores = auto.selection_.scores
    assert a / b == pytest.approx(scores[second] ** 2 / scores[first] ** 2) and a + b == 1
    alone = [make_forecaster(n, interval_s=interval_s).fit(y).predict(24) for n in (first, second)]
    forecast = auto.predict(24, (0.5, 0.99))
    np.testing.assert_allclose(forecast.mean, a * alone[0].mean + b * alone[1].mean)
    median = a * alone[0].quantiles[0.5] + b * alone[1].quantiles[0.5]
    top = a * alone[0].quantiles[0.99] + b * alone[1].quantiles[0.99]
    k = auto.selection_.width_factor
    np.testing.assert_allclose(forecast.quantiles[0.99], median + k * (top - median))
