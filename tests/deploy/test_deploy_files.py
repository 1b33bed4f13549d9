"""docker/ and the chart against the project: YAML style, real commands, queues, secrets, settings.

No database, broker or Docker is needed. The commands that the images, compose and the chart
start are parsed by celery's and gunicorn's own option parsers and checked against
`apps.kernel.tasks.Queue`, Django's management commands and the heartbeat module. The chart's
objects themselves are checked in test_chart.py.
"""

import fnmatch
import importlib
import importlib.util
import os
import re
from pathlib import Path

import click
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy import chart
from tests.deploy.files import (
    COMPOSE,
    DOCKER,
    DOCKERFILES,
    ENTRYPOINT_SCRIPT,
    REPO,
    Started,
    compose,
    compose_environment,
    dockerfile_copies,
    dockerfile_env,
    dockerfile_instructions,
    env_example,
    started_commands,
    unwrap_shell,
    yaml_files,
)

PYTHONS = {"python", "python3", "python3.11", "/opt/venv/bin/python"}
# Programs of the third-party images (postgres, redis) that compose runs for them.
SERVICE_PROGRAMS = {"pg_isready", "redis-server", "redis-cli"}
SETTINGS_NAMES = re.compile(r"^(BALLAST_\w+|DATABASE_URL|CELERY_BROKER_URL)$")
# The exec probe of workers and beat (controlplane/heartbeat.py): heartbeat younger than 90 s.
HEARTBEAT_PROBE = ("python", "-m", "controlplane.heartbeat", "--max-age", "90")
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|CREDENTIAL")
URL_PASSWORD = re.compile(r"://[^/@\s:]*:([^@/\s]+)@")


# --- what a command must be to exist in the project ---------------------------------------


def queue_names() -> set[str]:
    from apps.kernel.tasks import Queue

    return {queue.value for queue in Queue}


def check_celery(args: tuple[str, ...]) -> dict:
    """`-A controlplane <command> ...`, parsed by celery's own CLI; the parsed parameters."""
    from celery.bin.base import CLIContext
    from celery.bin.celery import celery as celery_cli

    if args[:2] in {("-A", "controlplane"), ("--app", "controlplane")}:
        rest = args[2:]
    elif args[:1] == ("--app=controlplane",):
        rest = args[1:]
    else:
        raise AssertionError(f"celery must be started with -A controlplane, got {args}")
    celery_module = importlib.import_module("controlplane.celery")
    assert rest and rest[0] in celery_cli.commands, f"{rest[:1]} is not a celery command"
    command = celery_cli.commands[rest[0]]
    context = CLIContext(app=celery_module.app, no_color=True, workdir=None, quiet=True)
    params = command.make_context(rest[0], list(rest[1:]), obj=context).params
    if rest[0] == "worker":
        queues = set(params.get("queues") or ())
        assert queues, "a worker must name its queues with -Q"
        assert queues <= queue_names(), f"queues {queues - queue_names()} are not in Queue"
        params["queues"] = queues
    return {"command": rest[0], **params}


def check_gunicorn(args: tuple[str, ...]) -> None:
    """A WSGI module of the project, and options gunicorn knows."""
    from gunicorn.config import Config

    try:
        parsed = Config().parser().parse_args(list(args))
    except SystemExit as exc:
        raise AssertionError(f"gunicorn refuses its options {args}") from exc
    assert len(parsed.args) == 1, f"gunicorn wants one WSGI app, got {parsed.args}"
    module_name, _, attribute = parsed.args[0].partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute or "application", None)), parsed.args[0]
    assert parsed.bind and parsed.bind[0].endswith(":8000"), f"gunicorn binds {parsed.bind}"


def check_manage_py(args: tuple[str, ...]) -> None:
    """`manage.py <a management command of the project>`."""
    from django.core.management import get_commands

    assert (REPO / "manage.py").is_file()
    assert len(args) >= 2, "manage.py without a command"
    assert args[1] in get_commands(), f"manage.py has no command {args[1]!r}"


def check_heartbeat(started: Started, argv: tuple[str, ...]) -> None:
    """The heartbeat probe, exactly as agreed, of a module the project has."""
    assert argv == HEARTBEAT_PROBE, f"{started.where}: {argv} is not {HEARTBEAT_PROBE}"
    assert importlib.util.find_spec("controlplane.heartbeat"), "no module controlplane.heartbeat"


def check_command(started: Started) -> None:
    """Raise AssertionError unless each simple command of `started` is a program of the project."""
    try:
        _check_simple_commands(started)
    except (click.ClickException, ImportError) as exc:
        raise AssertionError(f"{started.where}: {exc}") from exc


def _check_simple_commands(started: Started) -> None:
    for argv in unwrap_shell(started.argv):
        program = os.path.basename(argv[0])
        if program == "celery":
            check_celery(argv[1:])
        elif program == "gunicorn":
            check_gunicorn(argv[1:])
        elif argv[0] in PYTHONS and argv[1:2] == ("manage.py",):
            check_manage_py(argv[1:])
        elif argv[0] in PYTHONS and argv[1:3] == ("-m", "controlplane.heartbeat"):
            check_heartbeat(started, argv)
        elif argv[0] in PYTHONS and argv[1:2] == ("-c",):
            assert "http://127.0.0.1:8000/healthz" in argv[2], f"{started.where}: not /healthz"
        elif program in SERVICE_PROGRAMS and started.where.startswith("compose "):
            continue
        else:
            raise AssertionError(f"{started.where}: {argv[0]!r} is not a Ballast process")


def runtime_commands() -> list[Started]:
    return [started for started in started_commands() if not started.build_time]


def worker_queues(started: Started) -> set[str] | None:
    """The queues of a celery worker command, None for any other command."""
    argv = started.argv
    if os.path.basename(argv[0]) != "celery" or "worker" not in argv:
        return None
    return check_celery(argv[1:])["queues"]


# --- YAML ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_yaml_passes_yamllint_without_warnings(path):
    config = YamlLintConfig(file=str(DOCKER / ".yamllint"))
    problems = list(linter.run(path.read_text(), config, str(path)))
    assert not problems, "\n".join(f"{path.name}:{p.line}:{p.column} {p.desc}" for p in problems)


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_yaml_parses_into_mappings(path):
    documents = list(yaml.safe_load_all(path.read_text()))
    assert documents and all(isinstance(doc, dict) for doc in documents)


# --- commands, files --------------------------------------------------------------------------


def test_deploy_files_start_processes():
    where = {started.where for started in runtime_commands()}
    assert {"Dockerfile CMD", "Dockerfile HEALTHCHECK", "Dockerfile.cuda CMD"} <= where
    assert {"compose web.command", "compose worker-cpu.command", "compose beat.command"} <= where
    assert any(w.startswith("chart Job/ballast-migrate") for w in where)
    probes = [s.argv for s in runtime_commands() if s.where.endswith("Probe")]
    assert HEARTBEAT_PROBE in probes


@pytest.mark.parametrize("started", runtime_commands(), ids=lambda s: s.where)
def test_every_started_command_exists_in_the_project(started):
    check_command(started)


@pytest.mark.parametrize(
    "argv",
    [
        ("celery", "-A", "controlplane", "worker", "-Q", "cpu,gpu-typo"),
        ("celery", "-A", "controlplane", "worker"),
        ("celery", "-A", "controlplane", "worker", "-Q", "cpu", "--no-such-option"),
        ("celery", "-A", "elsewhere", "beat"),
        ("celery", "-A", "controlplane", "flower"),
        ("gunicorn", "controlplane.no_such_module", "--bind", "0.0.0.0:8000"),
        ("gunicorn", "controlplane.wsgi", "--no-such-option"),
        ("python", "manage.py", "no_such_command"),
        ("/bin/sh", "-c", "python manage.py migrate && uwsgi --http :8000"),
        ("redis-server",),
        ("python", "-m", "controlplane.heartbeat", "--max-age", "900"),
        ("python", "-m", "controlplane.no_such_probe"),
    ],
    ids=lambda argv: " ".join(argv),
)
def test_command_check_refuses_what_the_project_does_not_have(argv):
    with pytest.raises(AssertionError):
        check_command(Started("k8s example", argv))


def test_build_runs_only_real_management_commands_and_copied_requirements():
    for path in DOCKERFILES:
        destinations = {dest: sources for sources, dest in dockerfile_copies(path)}
        runs = [s for s in started_commands() if s.build_time and s.where.startswith(path.name)]
        for argv in (argv for started in runs for argv in unwrap_shell(started.argv)):
            if "manage.py" in argv:
                check_manage_py(argv[argv.index("manage.py") :])
            for flag_index in (i for i, word in enumerate(argv) if word in {"-r", "--requirement"}):
                requirement = argv[flag_index + 1]
                assert requirement in destinations, f"{path.name}: {requirement} is never copied"
                assert all((REPO / source).is_file() for source in destinations[requirement])


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_copied_files_exist_and_are_not_docker_ignored(path):
    ignore_file = path.with_name(path.name + ".dockerignore")
    patterns = [
        line.strip()
        for line in ignore_file.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copies = dockerfile_copies(path)
    assert copies, f"{path.name} copies nothing"
    for source in (source for sources, _ in copies for source in sources):
        assert (REPO / source).exists(), f"{path.name}: COPY {source}: no such file"
        for pattern in patterns:
            assert not fnmatch.fnmatch(source, pattern), f"{source} is ignored by {pattern}"
    for needed in ("requirements.txt", "manage.py", "docker/entrypoint.sh", "controlplane"):
        assert not any(fnmatch.fnmatch(needed, p) for p in patterns), needed


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_entrypoint_is_the_copied_script_and_hands_over_the_command(path):
    entrypoints = [rest for key, rest in dockerfile_instructions(path) if key == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    program = yaml.safe_load(entrypoints[0])[0]
    sources = {
        Path(dest).name: sources for sources, dest in dockerfile_copies(path) if dest != "/app"
    }
    assert sources.get(Path(program).name) == ["docker/entrypoint.sh"], program
    assert os.access(ENTRYPOINT_SCRIPT, os.X_OK), "docker/entrypoint.sh is not executable"
    assert ENTRYPOINT_SCRIPT.read_text().rstrip().endswith('exec "$@"')


def test_images_run_as_non_root_and_web_image_checks_healthz():
    for path in DOCKERFILES:
        users = [rest for keyword, rest in dockerfile_instructions(path) if keyword == "USER"]
        assert users and users[-1] not in {"root", "0"}, f"{path.name} runs as root"
    web = dockerfile_instructions(DOCKERFILES[0])
    assert dockerfile_instructions(DOCKERFILES[0])[0][1].startswith("python:3.11-slim")
    assert any(k == "HEALTHCHECK" and "/healthz" in rest for k, rest in web)
    cmd = [Started("Dockerfile CMD", yaml.safe_load(rest)) for k, rest in web if k == "CMD"]
    assert os.path.basename(cmd[-1].argv[0]) == "gunicorn"


# --- workers, queues, GPU ---------------------------------------------------------------------


def test_gpu_worker_listens_only_to_gpu_and_the_others_never_do():
    queues_by_place = {
        started.where: queues
        for started in runtime_commands()
        if (queues := worker_queues(started)) is not None
    }
    gpu_places = {where for where, queues in queues_by_place.items() if "gpu" in queues}
    assert gpu_places == {
        "Dockerfile.cuda CMD",
        "compose worker-gpu.command",
        "chart Deployment/ballast-worker-gpu container worker-gpu",
    }
    assert all(queues_by_place[where] == {"gpu"} for where in gpu_places)
    served_in_k8s = set().union(*(q for w, q in queues_by_place.items() if w.startswith("chart")))
    assert served_in_k8s == queue_names(), "every queue needs a worker in Kubernetes"


@pytest.mark.parametrize("queue", ["actuation", "webhooks", "control"])
def test_actuation_webhooks_and_control_have_workers_of_their_own(queue):
    # An apply, a delivery to a slow receiver and a controller step never wait behind each other
    # or behind plan building: in compose and in Kubernetes, each queue's worker serves only it.
    queues_by_place = {
        started.where: queues
        for started in runtime_commands()
        if (queues := worker_queues(started)) is not None
    }
    places = {where for where, queues in queues_by_place.items() if queue in queues}
    assert places == {
        f"compose worker-{queue}.command",
        f"chart Deployment/ballast-worker-{queue} container worker-{queue}",
    }
    assert all(queues_by_place[where] == {queue} for where in places)


def task_time_limits() -> dict[str, int]:
    """The longest hard time limit of the project's tasks, by the queue each is declared on.

    Only the apps' tasks: Celery's own, and any a test registered, are not deployed.
    """
    from controlplane.celery import app

    app.loader.import_default_modules()
    longest: dict[str, int] = {}
    for name, task in app.tasks.items():
        if name.startswith("apps."):
            queue = str(task.queue or app.conf.task_default_queue)
            limit = task.time_limit or app.conf.task_time_limit
            longest[queue] = max(longest.get(queue, 0), limit)
    return longest


@pytest.mark.parametrize("values", [{}, chart.production_values()], ids=["default", "production"])
def test_a_stopped_worker_has_time_to_finish_its_longest_task(values):
    # A scale-in or a rollout sends SIGTERM: Celery's warm shutdown finishes the running task,
    # which its hard time limit ends. An autoscaled worker (cpu, gpu) may run any task a plan
    # routes to it at call time (forecasts go to gpu), so it gets the longest of them all.
    longest = task_time_limits()
    assert set(longest) == queue_names() and longest["cpu"] > 600
    rendered = chart.render(values)
    autoscaled = {
        obj["spec"]["scaleTargetRef"]["name"]
        for obj in rendered
        if obj["kind"] in {"ScaledObject", "HorizontalPodAutoscaler"}
    }
    for queue in queue_names():
        worker = chart.one(rendered, "Deployment", f"ballast-worker-{queue}")
        grace = chart.pod_spec(worker)["terminationGracePeriodSeconds"]
        needed = (
            max(longest.values()) if worker["metadata"]["name"] in autoscaled else longest[queue]
        )
        assert grace >= needed, f"{queue}: {grace} s to stop, its tasks may run {needed} s"


def test_compose_serves_every_queue_but_gpu_without_its_profile():
    served = set().union(
        *(
            queues
            for started in runtime_commands()
            if started.where.startswith("compose ")
            and (queues := worker_queues(started)) is not None
        )
    )
    assert served == queue_names()


def test_compose_gpu_worker_gets_a_gpu():
    service = compose()["services"]["worker-gpu"]
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert service["build"]["dockerfile"] == "docker/Dockerfile.cuda"


def test_exactly_one_beat_in_compose_and_the_chart():
    beats = [s.where for s in runtime_commands() if "beat" in s.argv and "celery" in s.argv[0]]
    assert sorted(beats) == ["chart Deployment/ballast-beat container beat", "compose beat.command"]


# --- the probe and metrics paths the chart uses --------------------------------------------


# Kubelets and Prometheus reach a pod by its IP over plain HTTP: a Host header that
# ALLOWED_HOSTS refuses (400) and no X-Forwarded-Proto (an HTTPS redirect, which a kubelet counts
# as healthy). These run the real middleware stack under production-like settings.
POD_IP_HOST = "10.1.2.3:8000"


@pytest.fixture
def behind_https(settings):
    settings.ALLOWED_HOSTS = ["ballast.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


@pytest.mark.parametrize("path, statuses", [("/healthz", {200}), ("/readyz", {200, 503})])
def test_probe_paths_answer_a_kubelet(client, behind_https, path, statuses):
    response = client.get(path, HTTP_HOST=POD_IP_HOST)
    assert response.status_code in statuses, response.content[:200]
    assert response["Content-Type"] == "application/json"


def test_metrics_path_reaches_its_view_for_prometheus(client, behind_https):
    # With a token set the view answers 401 before it queries anything: no database needed.
    behind_https.METRICS_TOKEN = "token-of-this-test"
    response = client.get("/metrics", HTTP_HOST=POD_IP_HOST)
    assert response.status_code == 401, f"{response.status_code}: {response.content[:200]}"


# --- compose -----------------------------------------------------------------------------------


def test_compose_waits_for_healthy_database_and_broker():
    services = compose()["services"]
    assert services["db"]["image"].split(":")[1].startswith("16")
    assert services["redis"]["image"].split(":")[1].startswith("7")
    web = services["web"]
    assert web["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    assert "8000:8000" in web["ports"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["db"]["volumes"])
    assert set(compose()["volumes"]) >= {v.split(":")[0] for v in services["db"]["volumes"]}
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = (COMPOSE.parent / build["context"]).resolve()
            assert context == REPO and (context / build["dockerfile"]).is_file(), name


def test_compose_requires_the_secrets_from_the_user():
    example = env_example()
    for name, value in example.items():
        if SECRET_NAMES.search(name):
            assert value == "", f".env.example gives {name} a value"
    assert "BALLAST_SECRET_KEY" in example and "POSTGRES_PASSWORD" in example
    for name, service in compose()["services"].items():
        if service.get("build"):
            env = compose_environment(service)
            assert env["BALLAST_SECRET_KEY"].startswith("${BALLAST_SECRET_KEY:?"), name
            assert service["env_file"] == ".env", name


# --- secrets, settings --------------------------------------------------------------------------


def literal_settings() -> list[tuple[str, str, str]]:
    """(where, name, value) of every environment value the deploy files write down."""
    found = [("docker/.env.example", n, v) for n, v in env_example().items()]
    for name, service in compose()["services"].items():
        found += [(f"compose {name}", n, v) for n, v in compose_environment(service).items()]
    for path in DOCKERFILES:
        found += [(path.name, n, v) for n, v in dockerfile_env(path).items()]
    for values in ({}, chart.production_values()):
        rendered = chart.render(values)
        for config in chart.objects(rendered, "ConfigMap"):
            if config["metadata"]["name"] == "ballast-config":
                found += [("ConfigMap", n, str(v)) for n, v in config["data"].items()]
        for workload, container in chart.containers(rendered):
            for item in container.get("env", []):
                found.append((workload, item["name"], str(item.get("value", ""))))
    return found


def chart_containers() -> list[tuple[str, dict]]:
    """Every container of the chart, rendered with default and with production values."""
    return [
        pair
        for values in ({}, chart.production_values())
        for pair in chart.containers(chart.render(values))
    ]


def test_no_deploy_file_holds_a_secret_value():
    for values in ({}, chart.production_values()):
        assert not chart.objects(chart.render(values), "Secret"), "the chart creates no Secret"
    for where, name, value in literal_settings():
        if SECRET_NAMES.search(name) and not value.startswith("${"):
            assert value == "", f"{where}: {name} is written down"
        password = URL_PASSWORD.search(value)
        assert not password or password.group(1).startswith("${"), f"{where}: {name} password"
    for workload, container in chart_containers():
        for item in container.get("env", []):
            if SECRET_NAMES.search(item["name"]) or item["name"].endswith("_URL"):
                assert "secretKeyRef" in item.get("valueFrom", {}), f"{workload}: {item['name']}"


def code_reading_settings() -> tuple[str, str]:
    """(all Python source of the project outside tests, all shell scripts)."""
    skip = {".venv", "venv", ".git", "node_modules", "var", "tests", "__pycache__", "docs"}
    python, shell = [], []
    for root, folders, files in os.walk(REPO):
        folders[:] = [f for f in folders if f not in skip and not f.startswith(".")]
        for name in files:
            if name.endswith(".py"):
                python.append(Path(root, name).read_text(errors="replace"))
            elif name.endswith(".sh"):
                shell.append(Path(root, name).read_text(errors="replace"))
    return "\n".join(python), "\n".join(shell)


def test_every_setting_the_deploy_files_set_is_read_by_the_project():
    import dj_database_url

    python, shell = code_reading_settings()
    settings_py = (REPO / "controlplane" / "settings" / "__init__.py").read_text()
    names = {name for _, name, _ in literal_settings() if SETTINGS_NAMES.match(name)}
    names |= {item["name"] for _, c in chart_containers() for item in c.get("env", [])}
    names = {name for name in names if SETTINGS_NAMES.match(name)}
    unread = set()
    for name in sorted(names):
        if name == dj_database_url.DEFAULT_ENV and "dj_database_url.config(" in settings_py:
            continue  # DATABASE_URL is read by dj_database_url.config()
        if re.search(rf"""["']{name}["']""", python) or re.search(rf"\$\{{?{name}\b", shell):
            continue
        unread.add(name)
    assert not unread, f"set by docker/ but read nowhere in the project: {sorted(unread)}"
