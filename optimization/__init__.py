"""Django-free allocation optimizer: problem, cost + SLA objective, GA-PSO, exact solver, Pareto."""
