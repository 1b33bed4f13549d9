"""Hybrid GA-PSO: a genetic algorithm whose best individuals seed a particle swarm.

As in "Scalability Optimization in Cloud-Based AI Inference Services": the chromosome is the
integer allocation (T x K replicas), selection is roulette-wheel, crossover single-point,
mutation random; the GA's best individuals seed the swarm, which moves by
v = w v + c1 r1 (pbest - x) + c2 r2 (gbest - x). Problem-aware parts (repair.py) make it meet
the gap targets: every individual is repaired to feasibility and trimmed, and the first
population is rounded from the LP relaxation (numpy, once). The generations then draw from the
backend's own generator, on its device: numpy continues the seeding Generator, torch uses a
torch.Generator, so each backend is deterministic for a seed and the two agree in quality,
not bit for bit.
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
    generator: Any  # the backend's: numpy Generator or torch.Generator on the device
    evaluations: int = 0

    def evaluate(self, counts: Any) -> Any:
        """Penalised objective of a population, (n,) on the backend."""
        self.evaluations += counts.shape[0]
        values = evaluate_population(counts, self.layout, self.problem.weights, self.backend)
        return values.penalized_usd

    def draw(self, shape: tuple[int, ...]) -> Any:
        """Uniform [0, 1) numbers from the run's generator, on the backend."""
        return self.backend.random(self.generator, shape)


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
        seed: seeds the starting population's numpy Generator and the search's generator.
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
    """The body of solve_gapso once the backend is chosen.

    The generations run on the backend's device: draws, selection, crossover, mutation, the
    swarm's moves, repair and evaluation read nothing back to the host until the best is
    returned (the time limit is checked on the host clock).
    """
    started = time.perf_counter()
    host = layout_problem(problem)
    layout = on_backend(host, engine)
    rng = np.random.default_rng(seed)
    search = Search(
        problem, layout, Repairer(layout, host, engine), engine, engine.generator(seed, rng)
    )
    relaxed = solve_relaxation(host)  # raises InfeasibleProblem naming the constraint
    start = seed_population(relaxed, config.population, rng)
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
    search: Search, population: Any, fitness: Any, config: GAPSOConfig, deadline: float
) -> tuple[Any, Any]:
    """Generations of roulette selection, single-point crossover, mutation, repair, elitism."""
    for _ in range(config.ga_generations):
        if time.perf_counter() > deadline:
            break
        parents = roulette(search, fitness, 2 * config.population)
        children = crossover(search, population, parents, config)
        children = search.repairer.repair(mutate(search, children, config))
        child_fitness = search.evaluate(children)
        population, fitness = keep_elite(
            search.backend, population, fitness, children, child_fitness, config.elite
        )
    return population, fitness


def roulette(search: Search, fitness: Any, size: int) -> Any:
    """Indices drawn with probability proportional to (worst - value) + a small floor."""
    spread = fitness.max() - fitness
    weight = spread + 1e-3 * (spread.max() + 1e-12)
    return search.backend.choice(search.generator, weight, size)


def crossover(search: Search, population: Any, parents: Any, config: GAPSOConfig) -> Any:
    """Single-point crossover on the flattened genome (T*K): head of one parent, tail of another."""
    n, T, K = population.shape
    backend, xp = search.backend, search.backend.xp
    mothers, fathers = population[parents[0::2]], population[parents[1::2]]
    cuts = backend.integers(search.generator, 1, T * K, (n,))
    cuts = xp.where(search.draw((n,)) < config.crossover_rate, cuts, T * K)
    head = (backend.arange(T * K)[None, :] < cuts[:, None]).reshape(n, T, K)
    return xp.where(head, mothers, fathers)


def mutate(search: Search, children: Any, config: GAPSOConfig) -> Any:
    """+-1 replica on random genes, and ruin: clear random intervals for the repair to rebuild."""
    n, T, K = children.shape
    steps = search.backend.integers(search.generator, -1, 2, (n, T, K)) * (
        search.draw((n, T, K)) < config.mutation_rate
    )
    keep = search.draw((n, T, 1)) >= config.ruin_rate
    return (children + steps) * keep


def keep_elite(
    backend: Backend,
    population: Any,
    fitness: Any,
    children: Any,
    child_fitness: Any,
    elite: int,
) -> tuple[Any, Any]:
    """Children replace the parents; the best `elite` parents replace the worst children."""
    best_parents = backend.argsort(fitness)[:elite]
    worst_children = backend.flip(backend.argsort(child_fitness))[:elite]
    children[worst_children] = population[best_parents]
    child_fitness = backend.copy(child_fitness)
    child_fitness[worst_children] = fitness[best_parents]
    return children, child_fitness


def run_pso(
    search: Search, population: Any, fitness: Any, config: GAPSOConfig, deadline: float
) -> tuple[Any, Any]:
    """The swarm starts at the GA's population (best first) and flies with inertia w, c1, c2."""
    backend, xp = search.backend, search.backend.xp
    order = backend.argsort(fitness)
    position, fitness = population[order], fitness[order]
    velocity = position * 0.0
    pbest, pbest_fitness = backend.copy(position), fitness
    g = xp.reshape(xp.argmin(pbest_fitness), (1,))  # an index array: no read to the host
    for _ in range(config.pso_iterations):
        if time.perf_counter() > deadline:
            break
        shape = tuple(position.shape)
        r1, r2 = search.draw(shape), search.draw(shape)
        velocity = (
            config.inertia * velocity
            + config.cognitive * r1 * (pbest - position)
            + config.social * r2 * (pbest[g] - position)
        )
        position = search.repairer.repair(position + velocity)
        values = search.evaluate(position)
        improved = values < pbest_fitness
        pbest = xp.where(improved[:, None, None], position, pbest)
        pbest_fitness = xp.where(improved, values, pbest_fitness)
        g = xp.reshape(xp.argmin(pbest_fitness), (1,))
    return pbest[g][0], pbest_fitness[g][0]
