"""An autoregressive LSTM with a Gaussian head (DeepAR-style), trained in seconds on the CPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Self

import numpy as np
import torch
from torch import nn

from forecasting.base import Forecast, build_forecast
from forecasting.calibration import calibrate_noise
from forecasting.seasonality import SeasonPlan

HIDDEN = 32
WINDOW = 48  # steps per training sequence and of warm-up before forecasting
BATCH = 64
ITERATIONS = 300
LEARNING_RATE = 0.01
PATHS = 400  # sampled future paths the mean and quantiles are read from
MIN_HOLDOUT = 24  # fewest steps held out to calibrate the interval


class Lstm:
    """One-step-ahead LSTM, sampled forward for any horizon and any quantiles.

    Inputs at step t: the previous value, the value one season back for each season of the
    plan, and sin/cos of the phase in each season. The head gives the mean and spread of a
    normal distribution for step t, trained by negative log-likelihood on standardised bucket
    means. Forecasts draw `PATHS` paths, each step sampled and fed back (clipped at a load of
    0), as DeepAR does (Salinas et al., 2020); the mean and quantiles are those of the paths.

    Sampled one-step noise alone makes intervals far too narrow a day ahead (the network fits
    its training data closely), so the last season (at least 24 steps) is first held out: the
    network trained without it forecasts it, and `calibrate_noise` finds the least normal noise
    which, added to each sampled step, makes the paths' 90 % interval cover the held-out steps
    (split conformal, as `calibrate_width`). Training then goes on over all the data for half as
    many iterations; forecasts add that noise to their paths. The mean is the paths' own, so the
    noise moves only the quantiles. A series too short to hold a season out gets the noise of
    seasonal naive's errors, assuming the network errs no less. (Stretching the paths' spread
    by a factor instead, as this did before, hit its cap of 3x on most folds of the hourly
    traces and still left the 90 % interval short; docs/benchmarks/forecasting.md shows the
    LSTM's coverage now.)

    Seeded: weights, batches and samples all come from `seed`, so a CPU run repeats exactly.
    Uses CUDA when `torch.cuda.is_available()`.
    """

    def __init__(self, seed: int = 0, iterations: int = ITERATIONS) -> None:
        self.seed = seed
        self.iterations = iterations

    def fit(self, z: np.ndarray, plan: SeasonPlan) -> Self:
        """Train on bucket means `z` (n,) with the plan's seasons as lag and phase inputs."""
        with one_cpu_thread():
            return self._fit(z, plan)

    def predict(self, h: int, quantiles: Sequence[float]) -> Forecast:
        """Sample `PATHS` paths of `h` bucket means: their mean, and quantiles with the noise."""
        with one_cpu_thread():
            paths = self._sample_paths(h)
        table = np.quantile(paths + self.noise_sd_ * self._noise(h), quantiles, axis=0)
        return build_forecast(paths.mean(axis=0), {q: table[i] for i, q in enumerate(quantiles)})

    def _fit(self, z: np.ndarray, plan: SeasonPlan) -> Self:
        self.device_ = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.centre_, self.scale_ = float(np.mean(z)), float(np.std(z))
        self.seasons_ = tuple(m for m in plan.seasons if len(z) >= m + 2 * WINDOW)
        x = (z - self.centre_) / self.scale_
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net_ = Network(1 + 3 * len(self.seasons_)).to(self.device_)
        holdout = max(MIN_HOLDOUT, self.seasons_[0] if self.seasons_ else 0)
        if len(x) - holdout >= max((1, *self.seasons_)) + 2 * WINDOW:
            train_network(
                self.net_, self._training_windows(x[:-holdout]), self.iterations, self.seed
            )
            self.history_ = x[:-holdout]
            paths = self._sample_paths(holdout)
            self.noise_sd_ = calibrate_noise(paths, z[-holdout:], self._noise(holdout))
            iterations = self.iterations // 2
        else:
            season = plan.seasons[0] if plan.seasons and len(z) > 2 * plan.seasons[0] else 1
            self.noise_sd_ = float(np.std(z[season:] - z[:-season]))
            iterations = self.iterations
        train_network(self.net_, self._training_windows(x), iterations, self.seed + 1)
        self.history_ = x
        return self

    def _noise(self, h: int) -> np.ndarray:
        """Standard normal draws (PATHS, h), the same for every call with this seed."""
        return np.random.default_rng(self.seed).standard_normal((PATHS, h))

    def _training_windows(self, history: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(history, dtype=torch.float32)
        first = max((1, *self.seasons_))
        features = build_features(x[None, :], first, len(x), self.seasons_)[0]
        targets = x[first:]
        length = min(WINDOW, len(targets) // 2)
        starts = range(len(targets) - length + 1)
        inputs = torch.stack([features[s : s + length] for s in starts])
        outputs = torch.stack([targets[s : s + length] for s in starts])
        return inputs.to(self.device_), outputs.to(self.device_)

    @torch.no_grad()
    def _sample_paths(self, h: int) -> np.ndarray:
        """`PATHS` sampled paths (PATHS, h) of the next `h` bucket means, in the series' unit."""
        n = len(self.history_)
        generator = torch.Generator(device=self.device_).manual_seed(self.seed)
        buffer = torch.zeros(PATHS, n + h, device=self.device_)
        buffer[:, :n] = torch.as_tensor(self.history_, dtype=torch.float32, device=self.device_)
        warm_start = max(n - WINDOW, max((1, *self.seasons_)))
        warm = build_features(buffer[:1, :n], warm_start, n, self.seasons_)
        self.net_.eval()
        _, state = self.net_.lstm(warm)
        state = tuple(s.expand(-1, PATHS, -1).contiguous() for s in state)
        for t in range(n, n + h):
            step = build_features(buffer, t, t + 1, self.seasons_)
            out, state = self.net_.lstm(step, state)
            mu, sigma = self.net_.head(out[:, -1])
            noise = torch.randn(PATHS, generator=generator, device=self.device_)
            buffer[:, t] = torch.clamp(mu + sigma * noise, min=-self.centre_ / self.scale_)
        return buffer[:, n:].cpu().numpy().astype(float) * self.scale_ + self.centre_


@contextlib.contextmanager
def one_cpu_thread() -> Iterator[None]:
    """Run torch's CPU ops on one thread, then restore the previous setting.

    The network is small: a second thread buys nothing, and on a busy machine OpenMP's thread
    hand-offs on every tiny op slowed a one-second fit to a minute.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Network(nn.Module):
    """LSTM encoder with a head that gives the mean and spread of the next value."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, HIDDEN, batch_first=True)
        self.linear = nn.Linear(HIDDEN, 2)

    def head(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation (> 0) from LSTM outputs (..., HIDDEN)."""
        out = self.linear(hidden)
        return out[..., 0], nn.functional.softplus(out[..., 1]) + 1e-3

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and spread for every step of `inputs` (batch, steps, features)."""
        out, _ = self.lstm(inputs)
        return self.head(out)


def build_features(x: torch.Tensor, start: int, stop: int, seasons: Sequence[int]) -> torch.Tensor:
    """Inputs for target steps start..stop-1 of paths `x` (paths, >= stop - 1).

    Returns (paths, stop - start, 1 + 3 * len(seasons)): previous value, one-season-back value,
    and phase sin/cos per season.
    """
    steps = torch.arange(start, stop, device=x.device)
    columns = [x[:, steps - 1]]
    for m in seasons:
        angle = (2 * torch.pi * (steps % m) / m).expand(len(x), -1)
        columns += [x[:, steps - m], torch.sin(angle), torch.cos(angle)]
    return torch.stack(columns, dim=-1)


def train_network(
    net: Network, windows: tuple[torch.Tensor, torch.Tensor], iterations: int, seed: int
) -> None:
    """Adam on the Gaussian negative log-likelihood over seeded random mini-batches."""
    inputs, targets = windows
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    net.train()
    for _ in range(iterations):
        batch = torch.as_tensor(rng.integers(0, len(inputs), size=BATCH), device=inputs.device)
        mu, sigma = net(inputs[batch])
        loss = (torch.log(sigma) + 0.5 * ((targets[batch] - mu) / sigma) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
