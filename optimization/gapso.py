"""Hybrid GA-PSO: a genetic algorithm whose best individuals seed a particle swarm.

As in "Scalability Optimization in Cloud-Based AI Inference Services": the chromosome is the
integer allocation (T x K replicas), selection is roulette-wheel, crossover single-point,
mutation random; the GA's best individuals seed the swarm, which moves by
v = w v + c1 r1 (pbest - x) + c2 r2 (gbest - x). Problem-aware parts (repair.py) make it meet
the gap targets: every individual is repaired to feasibility and trimmed, and the first
population is rounded from the LP relaxation. All random numbers come from one numpy Generator,
so the numpy and torch backends follow the same path for the same seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimization.backend import Backend, choose_backend
from optimization.exact import solve_relaxation
from optimization.layout import Layout, layout_problem, on_backend
from optimization.objective import evaluate_population
from optimization.problem import AllocationProblem
from optimization.repair import Repairer, seed_population
from optimization.solution import Solution, make_solution


@dataclass(frozen=True, slots=True)
class GAPSOConfig:
    """Parameters of the GA-PSO; the evaluation budget is population x generations."""

    population: int = 48
    ga_generations: int = 25
    pso_iterations: int = 25
    crossover_rate: float = 0.9
    mutation_rate: float = 0.02  # per gene: +-1 replica
    ruin_rate: float = 0.05  # per (individual, interval): clear it, the repair rebuilds it
    elite: int = 2
    inertia: float = 0.6  # w
    cognitive: float = 1.5  # c1
    social: float = 1.5  # c2
    time_limit_s: float | None = None

    def __post_init__(self) -> None:
        if self.population < 4 or self.elite >= self.population:
            raise ValueError("population must be >= 4 and larger than elite")
        if self.ga_generations < 0 or self.pso_iterations < 0:
            raise ValueError("ga_generations and pso_iterations must be >= 0")

    @property
    def max_evaluations(self) -> int:
        """Objective evaluations the run spends: initial population + one per generation."""
        return self.population * (1 + self.ga_generations + self.pso_iterations)

    @classmethod
    def for_evaluations(cls, evaluations: int, population: int = 48) -> GAPSOConfig:
        """A config spending about `evaluations`, split evenly between GA and PSO."""
        generations = max(2, evaluations // population - 1)
        return cls(
            population=population,
            ga_generations=generations // 2,
            pso_iterations=generations - generations // 2,
        )


@dataclass
class Search:
    """State of one run: the population, its penalised objective, the best so far."""

    problem: AllocationProblem
    layout: Layout
    repairer: Repairer
    backend: Backend
    rng: np.random.Generator
    evaluations: int = 0

    def evaluate(self, counts: Any) -> np.ndarray:
        """Penalised objective of a population, as numpy (n,)."""
        self.evaluations += counts.shape[0]
        values = evaluate_population(counts, self.layout, self.problem.weights, self.backend)
        return self.backend.to_numpy(values.penalized_usd)

    def draw(self, shape: tuple[int, ...]) -> Any:
        """Uniform [0, 1) numbers from the run's numpy Generator, moved to the backend."""
        return self.backend.asarray(self.rng.random(shape))


def solve_gapso(
    problem: AllocationProblem,
    *,
    seed: int = 0,
    config: GAPSOConfig | None = None,
    backend: str | Backend = "auto",
    seeds: np.ndarray | None = None,
) -> Solution:
    """Minimise the problem's objective with GA-PSO.

    Args:
        problem: the allocation problem (its `weights` define the objective).
        seed: seeds the single numpy Generator behind every random draw.
        config: GA-PSO parameters; the default spends 48 x 51 = 2,448 evaluations.
        backend: "auto" (torch on CUDA when available, else numpy), "numpy", "torch".
        seeds: extra starting allocations (m, T, K), e.g. the MILP's answer for "hybrid".

    Returns:
        The best allocation found, repaired to feasibility.
    """
    config = config or GAPSOConfig()
    engine = backend if not isinstance(backend, str) else choose_backend(backend)
    with engine.single_threaded():
        return search_gapso(problem, seed=seed, config=config, engine=engine, seeds=seeds)


def search_gapso(
    problem: AllocationProblem,
    *,
    seed: int,
    config: GAPSOConfig,
    engine: Backend,
    seeds: np.ndarray | None,
) -> Solution:
    """The body of solve_gapso once the backend is chosen."""
    started = time.perf_counter()
    host = layout_problem(problem)
    layout = on_backend(host, engine)
    search = Search(
        problem, layout, Repairer(layout, host, engine), engine, np.random.default_rng(seed)
    )
    relaxed = solve_relaxation(host)  # raises InfeasibleProblem naming the constraint
    start = seed_population(relaxed, config.population, search.rng)
    if seeds is not None:
        start[: len(seeds)] = seeds[: config.population]
    population = search.repairer.repair(engine.asarray(start))
    fitness = search.evaluate(population)
    deadline = started + config.time_limit_s if config.time_limit_s else float("inf")
    population, fitness = run_ga(search, population, fitness, config, deadline)
    best, _ = run_pso(search, population, fitness, config, deadline)
    return make_solution(
        problem,
        host,
        engine.to_numpy(best),
        method="gapso",
        seconds=time.perf_counter() - started,
        evaluations=search.evaluations,
        seed=seed,
    )


def run_ga(
    search: Search, population: Any, fitness: np.ndarray, config: GAPSOConfig, deadline: float
) -> tuple[Any, np.ndarray]:
    """Generations of roulette selection, single-point crossover, mutation, repair, elitism."""
    for _ in range(config.ga_generations):
        if time.perf_counter() > deadline:
            break
        parents = roulette(fitness, 2 * config.population, search.rng)
        children = crossover(search, population, parents, config)
        children = search.repairer.repair(mutate(search, children, config))
        child_fitness = search.evaluate(children)
        population, fitness = keep_elite(
            search.backend, population, fitness, children, child_fitness, config.elite
        )
    return population, fitness


def roulette(fitness: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn with probability proportional to (worst - value) + a small floor."""
    spread = fitness.max() - fitness
    weight = spread + 1e-3 * (spread.max() + 1e-12)
    return rng.choice(len(fitness), size=size, p=weight / weight.sum())


def crossover(search: Search, population: Any, parents: np.ndarray, config: GAPSOConfig) -> Any:
    """Single-point crossover on the flattened genome (T*K): head of one parent, tail of another."""
    n, T, K = population.shape
    index = search.backend.as_index(parents)
    mothers, fathers = population[index[0::2]], population[index[1::2]]
    cuts = search.rng.integers(1, T * K, size=n)
    cuts = np.where(search.rng.random(n) < config.crossover_rate, cuts, T * K)
    head = search.backend.asarray(np.arange(T * K)[None, :] < cuts[:, None]).reshape(n, T, K)
    return head * mothers + (1 - head) * fathers


def mutate(search: Search, children: Any, config: GAPSOConfig) -> Any:
    """+-1 replica on random genes, and ruin: clear random intervals for the repair to rebuild."""
    n, T, K = children.shape
    steps = search.rng.integers(-1, 2, size=(n, T, K)) * (
        search.rng.random((n, T, K)) < config.mutation_rate
    )
    keep = search.rng.random((n, T, 1)) >= config.ruin_rate
    return (children + search.backend.asarray(steps)) * search.backend.asarray(keep)


def keep_elite(
    backend: Backend,
    population: Any,
    fitness: np.ndarray,
    children: Any,
    child_fitness: np.ndarray,
    elite: int,
) -> tuple[Any, np.ndarray]:
    """Children replace the parents; the best `elite` parents replace the worst children."""
    best_parents = np.argsort(fitness, kind="stable")[:elite]
    worst_children = np.argsort(child_fitness, kind="stable")[::-1][:elite]
    children[backend.as_index(worst_children)] = population[backend.as_index(best_parents)]
    child_fitness = child_fitness.copy()
    child_fitness[worst_children] = fitness[best_parents]
    return children, child_fitness


def run_pso(
    search: Search, population: Any, fitness: np.ndarray, config: GAPSOConfig, deadline: float
) -> tuple[Any, float]:
    """The swarm starts at the GA's population (best first) and flies with inertia w, c1, c2."""
    backend = search.backend
    order = backend.as_index(np.argsort(fitness, kind="stable"))
    position, fitness = population[order], fitness[backend.to_numpy(order)]
    velocity = position * 0.0
    pbest, pbest_fitness = (
        position.clone() if hasattr(position, "clone") else position.copy(),
        fitness,
    )
    g = int(np.argmin(pbest_fitness))
    for _ in range(config.pso_iterations):
        if time.perf_counter() > deadline:
            break
        shape = tuple(position.shape)
        r1, r2 = search.draw(shape), search.draw(shape)
        gbest = pbest[g : g + 1]
        velocity = (
            config.inertia * velocity
            + config.cognitive * r1 * (pbest - position)
            + config.social * r2 * (gbest - position)
        )
        position = search.repairer.repair(position + velocity)
        values = search.evaluate(position)
        improved = values < pbest_fitness
        mask = backend.asarray(improved)[:, None, None]
        pbest = mask * position + (1 - mask) * pbest
        pbest_fitness = np.where(improved, values, pbest_fitness)
        g = int(np.argmin(pbest_fitness))
    return pbest[g], float(pbest_fitness[g])
