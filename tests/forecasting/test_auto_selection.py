"""The auto forecaster: what it picks, why, and that the CLI's shortcut equals it."""

import numpy as np
import pytest

from forecasting.backtest import FoldScore, add_ensemble, run_backtest
from forecasting.base import Forecast
from forecasting.calibration import calibrate_width
from forecasting.models import ENSEMBLE, make_forecaster
from forecasting.selection import (
    AutoForecaster,
    score_auto_folds,
    select_model,
    selection_folds,
)

CHEAP = ("seasonal_naive", "ets", "sarima", "prophet")


def folds_scoring(*values: float) -> list[FoldScore]:
    return [FoldScore(0, v, 0.0, 0.9, v, v, 0.0, 0.0) for v in values]


def test_seasonal_naive_wins_a_near_tie_so_auto_cannot_trail_it_by_much():
    scores = {
        "seasonal_naive": folds_scoring(1.08, 1.08),
        "ets": folds_scoring(1.0, 1.0),
        ENSEMBLE: folds_scoring(1.01, 1.01),
    }
    selection = select_model(scores, horizon=24)
    assert selection.chosen == "seasonal_naive"
    assert "within 10% of the lowest (ets)" in selection.reason and "ets 1" in selection.reason


def test_the_ensemble_beats_a_single_model_it_nearly_ties():
    scores = {
        "seasonal_naive": folds_scoring(1.5, 1.5),
        "lstm": folds_scoring(1.0, 1.0),
        ENSEMBLE: folds_scoring(1.08, 1.08),
    }
    assert select_model(scores, horizon=24).chosen == ENSEMBLE
    assert select_model(scores, horizon=24, tolerance=0.05).chosen == "lstm"


def test_a_clear_winner_is_chosen_and_the_reason_says_so():
    scores = {
        "seasonal_naive": folds_scoring(1.0, 1.0),
        "lstm": folds_scoring(0.5, 0.7),
        ENSEMBLE: folds_scoring(1.0, 1.0),
    }
    selection = select_model(scores, horizon=24)
    assert selection.chosen == "lstm"
    assert selection.reason.startswith("lstm had the lowest mean pinball_scaled")


def test_a_model_that_refused_a_fold_is_not_eligible():
    refused = FoldScore(0, *[float("nan")] * 7, error="too short")
    scores = {"ets": [refused, *folds_scoring(0.1)], "sarima": folds_scoring(0.5, 0.5)}
    selection = select_model(scores, horizon=24)
    assert selection.chosen == "sarima" and "ets refused" in selection.reason


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
