"""Rolling-origin backtests and the scores they report."""

import math

import numpy as np
import pytest

from forecasting.backtest import (
    FoldScore,
    add_ensemble,
    max_folds,
    plan_origins,
    run_backtest,
    summarize_scores,
)
from forecasting.base import Forecast, SeriesError, build_forecast
from forecasting.calibration import widen_forecast
from forecasting.metrics import (
    compute_coverage,
    compute_mase,
    compute_mase_scale,
    compute_pinball,
    compute_smape,
)
from forecasting.models import ENSEMBLE, make_forecaster
from forecasting.models.ensemble import combine_forecasts


def test_mase_scale_is_the_in_sample_seasonal_naive_error():
    history = np.array([1.0, 2, 3, 2, 4, 3])  # season 3: changes 1, 2, 0
    assert compute_mase_scale(history, 3) == 1.0
    assert compute_mase(np.array([5.0, 5]), np.array([4.0, 7]), 1.5) == 1.0


def test_mase_scale_falls_back_to_lag_one_when_the_season_repeats_exactly():
    assert compute_mase_scale(np.array([1.0, 2, 1, 2, 1, 2]), 2) == 1.0


def test_smape_is_in_percent_and_zero_for_zero_forecasts_of_zero():
    assert compute_smape(np.array([0.0, 10]), np.array([0.0, 30])) == 50.0


def test_coverage_and_pinball_by_hand():
    actual = np.array([1.0, 5.0, 9.0])
    assert compute_coverage(actual, np.full(3, 2.0), np.full(3, 9.0)) == pytest.approx(2 / 3)
    forecast = Forecast(np.full(3, 5.0), {0.5: np.full(3, 5.0), 0.9: np.full(3, 8.0)})
    # q=0.5: (2 + 0 + 2) / 3 / ... ; q=0.9: (0.7 + 0.3 + 0.9) / 3
    expected = np.mean([np.mean([2.0, 0.0, 2.0]), np.mean([0.7, 0.3, 0.9])])
    assert compute_pinball(actual, forecast) == pytest.approx(expected)


def test_folds_are_back_to_back_and_end_with_the_series():
    assert plan_origins(1000, 100, 3) == (700, 800, 900)


def test_too_short_for_the_folds_says_how_much_is_needed():
    with pytest.raises(SeriesError, match="need at least 400"):
        plan_origins(300, 100, 3)


@pytest.mark.parametrize(("n", "horizon"), [(1000, 100), (300, 24), (144, 24), (96, 1)])
def test_max_folds_is_the_most_plan_origins_accepts(n, horizon):
    most = max_folds(n, horizon)
    assert len(plan_origins(n, horizon, most)) == most
    with pytest.raises(SeriesError):
        plan_origins(n, horizon, most + 1)


def test_backtest_scores_every_fold_of_every_model(cpu_5min):
    y, interval_s = cpu_5min
    models = [make_forecaster(n, interval_s=interval_s) for n in ("seasonal_naive", "ets")]
    result = run_backtest(y, models, interval_s=interval_s, horizon=48, folds=3)
    assert result.origins == (len(y) - 144, len(y) - 96, len(y) - 48)
    for scores in result.scores.values():
        assert [s.origin for s in scores] == list(result.origins)
        assert all(s.error is None and s.mase > 0 and 0 <= s.coverage_90 <= 1 for s in scores)
    tail = result.last(2)
    assert tail.origins == result.origins[1:] and tail.scales == result.scales[1:]
    assert tail.scores["ets"] == result.scores["ets"][1:]
    assert tail.forecasts["ets"] == result.forecasts["ets"][1:]


def test_a_model_that_refuses_a_fold_gets_nan_scores_and_the_reason(cpu_5min):
    y = np.r_[np.full(200, 5.0), cpu_5min[0][:100]]  # the first fold's history is constant
    naive = make_forecaster("seasonal_naive", interval_s=300)
    scores = run_backtest(y, [naive], interval_s=300, horizon=50, folds=2).scores[naive.name]
    assert "constant" in scores[0].error and math.isnan(scores[0].mase)
    assert scores[1].error is None
    assert summarize_scores(scores)["mase"] == scores[1].mase


def test_summary_takes_medians_and_pools_coverage():
    scores = [FoldScore(i, float(i), 0.0, c, 1.0, 1.0, 0.1, 0.0) for i, c in enumerate((1, 0, 0.5))]
    summary = summarize_scores(scores)
    assert summary["mase"] == 1.0 and summary["coverage_90"] == 0.5


def test_derived_ensemble_scores_equal_backtesting_the_ensemble(llm_seconds):
    y, interval_s = llm_seconds
    y = y[:1200]
    members = [make_forecaster(n, interval_s=interval_s) for n in ("ets", "sarima", "prophet")]
    derived = add_ensemble(run_backtest(y, members, interval_s=interval_s, horizon=120, folds=2), y)
    direct = run_backtest(
        y,
        [make_forecaster(ENSEMBLE, interval_s=interval_s)],
        interval_s=interval_s,
        horizon=120,
        folds=2,
    )
    for got, want in zip(derived.scores[ENSEMBLE], direct.scores[ENSEMBLE], strict=True):
        assert (got.mase, got.pinball, got.coverage_90) == (
            want.mase,
            want.pinball,
            want.coverage_90,
        )


def test_whole_forecasts_round_their_quantiles_and_stay_whole_when_combined_or_widened():
    raw = {0.05: np.array([0.3, 0.6]), 0.5: np.array([1.2, 1.4]), 0.95: np.array([2.4, 2.6])}
    whole = build_forecast(np.array([1.25, 1.5]), raw, whole=True)
    assert whole.quantiles[0.05].tolist() == [0, 1] and whole.quantiles[0.95].tolist() == [2, 3]
    assert whole.mean.tolist() == [1.25, 1.5]  # an expected count need not be whole
    assert build_forecast(whole.mean, raw).quantiles[0.05].tolist() == [0.3, 0.6]
    widened = widen_forecast(whole, 1.3)
    assert widened.whole and widened.quantiles[0.95].tolist() == [2, 4]  # 2.3, 3.6 rounded
    mixed = combine_forecasts([whole, build_forecast(whole.mean, raw)])
    assert not mixed.whole
    both = combine_forecasts([whole, whole])
    assert both.whole and both.quantiles[0.5].tolist() == [1, 1]
