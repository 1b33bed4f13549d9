"""Readers for docker/ and the Helm chart: the Dockerfiles, compose, and what they all start.

Every process a deploy file starts is collected as a `Started` (where it comes from, its argv),
so the tests can check each one against the project: celery's own CLI parser, gunicorn's option
parser, Django's management commands and the heartbeat probe. The chart's processes are read
from its rendering with default values (tests/deploy/chart.py).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.deploy import chart

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
ENTRYPOINT_SCRIPT = DOCKER / "entrypoint.sh"
DOCKERFILES = (DOCKER / "Dockerfile", DOCKER / "Dockerfile.cuda")
SHELL_SEPARATORS = {"&&", "||", ";", "|", "&"}


@dataclass(frozen=True)
class Started:
    """One command a deploy file runs: `where` names the file and the place in it."""

    where: str
    argv: tuple[str, ...]
    build_time: bool = False  # a Dockerfile RUN, not a process of the running system


def yaml_files() -> list[Path]:
    """Every YAML file under docker/ and the chart's YAML files that are not templates."""
    found = [*DOCKER.rglob("*"), *chart.CHART.glob("*"), *(chart.CHART / "ci").glob("*")]
    return sorted(p for p in found if p.suffix in {".yaml", ".yml"} and p.is_file())


@cache
def load_documents(path: Path) -> tuple[Any, ...]:
    """The YAML documents of one file, empty ones dropped."""
    return tuple(doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None)


def compose() -> dict:
    """The compose file, with its YAML anchors and merge keys resolved."""
    return load_documents(COMPOSE)[0]


def compose_environment(service: dict) -> dict[str, str]:
    """A service's `environment`, given as a mapping or as a list of NAME=value."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def env_example() -> dict[str, str]:
    """NAME=value lines of docker/.env.example."""
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            pairs[name.strip()] = value.strip()
    return pairs


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, f"{path.name}: a continued line never ends"
    return instructions


def dockerfile_form(text: str) -> tuple[str, ...]:
    """Exec form (a JSON array) as it is; shell form as sh -c."""
    if text.startswith("["):
        return tuple(json.loads(text))
    return ("/bin/sh", "-c", text)


def dockerfile_copies(path: Path) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY/ADD from the build context (not --from=stage)."""
    copies = []
    for keyword, rest in dockerfile_instructions(path):
        if keyword not in {"COPY", "ADD"}:
            continue
        words = shlex.split(rest)
        if any(word.startswith("--from=") for word in words):
            continue
        words = [word for word in words if not word.startswith("--")]
        copies.append((words[:-1], words[-1]))
    return copies


def dockerfile_env(path: Path) -> dict[str, str]:
    """Names and values of the Dockerfile's ENV instructions (NAME=value form)."""
    env = {}
    for keyword, rest in dockerfile_instructions(path):
        if keyword == "ENV":
            for word in shlex.split(rest):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def split_shell(text: str) -> list[tuple[str, ...]]:
    """The simple commands of a shell line, without leading NAME=value words or `exec`."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in SHELL_SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    simple = []
    assignment = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")
    for words in commands:
        while words and (assignment.fullmatch(words[0]) or words[0] == "exec"):
            words = words[1:]
        if words:
            simple.append(tuple(words))
    return simple


def unwrap_shell(argv: tuple[str, ...]) -> list[tuple[str, ...]]:
    """`sh -c "a && b"` as [a, b]; any other argv as itself."""
    if len(argv) >= 3 and Path(argv[0]).name in {"sh", "bash"} and argv[1] == "-c":
        return split_shell(argv[2])
    return [argv]


def _dockerfile_started(path: Path) -> list[Started]:
    started = []
    for keyword, rest in dockerfile_instructions(path):
        where = f"{path.name} {keyword}"
        if keyword == "CMD":
            started.append(Started(where, dockerfile_form(rest)))
        elif keyword == "HEALTHCHECK" and rest != "NONE":
            check = re.fullmatch(r"(?:--\S+\s+)*CMD\s+(.+)", rest)
            assert check, f"{where}: expected [OPTIONS] CMD command, got {rest!r}"
            started.append(Started(where, dockerfile_form(check.group(1))))
        elif keyword == "RUN":
            started.append(Started(where, dockerfile_form(rest), build_time=True))
    return started


def _compose_started() -> list[Started]:
    started = []
    for name, service in compose()["services"].items():
        for key in ("command", "entrypoint"):
            value = service.get(key)
            if value:
                argv = tuple(value) if isinstance(value, list) else tuple(shlex.split(value))
                started.append(Started(f"compose {name}.{key}", argv))
        test = (service.get("healthcheck") or {}).get("test")
        if test:
            where = f"compose {name}.healthcheck"
            if isinstance(test, str):
                started.append(Started(where, ("/bin/sh", "-c", test)))
            elif test[0] == "CMD":
                started.append(Started(where, tuple(test[1:])))
            elif test[0] == "CMD-SHELL":
                started.append(Started(where, ("/bin/sh", "-c", test[1])))
    return started


def _chart_started() -> list[Started]:
    started = []
    for workload, container in chart.containers(chart.render()):
        where = f"chart {workload} container {container['name']}"
        argv = tuple(str(word) for word in container.get("command", []) + container.get("args", []))
        if argv:
            started.append(Started(where, argv))
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            command = (container.get(probe) or {}).get("exec", {}).get("command")
            if command:
                started.append(Started(f"{where} {probe}", tuple(command)))
    return started


def _entrypoint_started() -> list[Started]:
    return [
        Started(f"entrypoint.sh line {number}", command)
        for number, line in enumerate(ENTRYPOINT_SCRIPT.read_text().splitlines(), start=1)
        if "manage.py" in line and not line.lstrip().startswith("#")
        for command in split_shell(line.strip())
    ]


def started_commands() -> list[Started]:
    """Every command the Dockerfiles, compose, the chart and the entrypoint run."""
    started = [s for path in DOCKERFILES for s in _dockerfile_started(path)]
    return started + _compose_started() + _chart_started() + _entrypoint_started()
