"""docker/ against the project: YAML style, real commands, probes, resources, RBAC and secrets.

No database, broker or Docker is needed. The commands that the images, compose and the manifests
start are parsed by celery's and gunicorn's own option parsers and checked against
`apps.kernel.tasks.Queue` and Django's management commands.
"""

import fnmatch
import importlib
import os
import re
from pathlib import Path

import click
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy.files import (
    COMPOSE,
    DOCKER,
    DOCKERFILES,
    ENTRYPOINT_SCRIPT,
    K8S,
    REPO,
    Started,
    compose,
    compose_environment,
    dockerfile_copies,
    dockerfile_env,
    dockerfile_instructions,
    env_example,
    k8s_documents,
    k8s_object,
    k8s_objects,
    load_documents,
    pod_spec,
    started_commands,
    unwrap_shell,
    workload_containers,
    yaml_files,
)

PYTHONS = {"python", "python3", "python3.11", "/opt/venv/bin/python"}
# Programs of the third-party images (postgres, redis) that compose runs for them.
SERVICE_PROGRAMS = {"pg_isready", "redis-server", "redis-cli"}
SETTINGS_NAMES = re.compile(r"^(BALLAST_\w+|DATABASE_URL|CELERY_BROKER_URL)$")
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|CREDENTIAL")
URL_PASSWORD = re.compile(r"://[^/@\s:]*:([^@/\s]+)@")
PLACEHOLDER = re.compile(r"^(|<[^>]*>|CHANGE[-_]?ME\w*|REPLACE[-_]?ME\w*)$")
ACTUATOR_RULES = {
    (group, resource, verb)
    for group, resources in {
        "apps": ("deployments", "deployments/scale"),
        "autoscaling": ("horizontalpodautoscalers",),
        "keda.sh": ("scaledobjects",),
    }.items()
    for resource in resources
    for verb in ("get", "patch")
}


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


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DOCKER)))
def test_yaml_passes_yamllint_without_warnings(path):
    config = YamlLintConfig(file=str(DOCKER / ".yamllint"))
    problems = list(linter.run(path.read_text(), config, str(path)))
    assert not problems, "\n".join(f"{path.name}:{p.line}:{p.column} {p.desc}" for p in problems)


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DOCKER)))
def test_yaml_parses_into_mappings(path):
    documents = list(yaml.safe_load_all(path.read_text()))
    assert documents and all(isinstance(doc, dict) for doc in documents)


def test_kustomization_lists_every_manifest_and_nothing_else():
    kustomization = load_documents(K8S / "kustomization.yaml")[0]
    manifests = {p.name for p in K8S.glob("*.y*ml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(manifests)


def test_every_object_names_its_namespace_and_every_image_is_set_by_kustomize():
    kustomization = load_documents(K8S / "kustomization.yaml")[0]
    images = {image["name"] for image in kustomization["images"]}
    for path, doc in k8s_documents():
        assert doc.get("apiVersion") and doc.get("kind"), path.name
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace"), f"{path.name}: {doc['kind']} has no namespace"
    assert {container["image"] for _, container in workload_containers()} <= images


# --- commands, files --------------------------------------------------------------------------


def test_deploy_files_start_processes():
    where = {started.where for started in runtime_commands()}
    assert {"Dockerfile CMD", "Dockerfile HEALTHCHECK", "Dockerfile.cuda CMD"} <= where
    assert {"compose web.command", "compose worker-cpu.command", "compose beat.command"} <= where
    assert any(w.startswith("k8s Job/ballast-migrate") for w in where)


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
        "k8s Deployment/ballast-worker-gpu container worker-gpu",
    }
    assert all(queues_by_place[where] == {"gpu"} for where in gpu_places)
    served_in_k8s = set().union(*(q for w, q in queues_by_place.items() if w.startswith("k8s")))
    assert served_in_k8s == queue_names(), "every queue needs a worker in Kubernetes"


def test_gpu_worker_gets_a_gpu_in_kubernetes_and_compose():
    spec = pod_spec(k8s_object("Deployment", "ballast-worker-gpu"))
    (container,) = spec["containers"]
    assert int(container["resources"]["limits"]["nvidia.com/gpu"]) == 1
    assert container["image"] == "ballast-cuda"
    assert spec.get("nodeSelector") and spec.get("tolerations")
    service = compose()["services"]["worker-gpu"]
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert service["build"]["dockerfile"] == "docker/Dockerfile.cuda"


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
        f"k8s Deployment/ballast-worker-{queue} container worker-{queue}",
    }
    assert all(queues_by_place[where] == {queue} for where in places)


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


def test_exactly_one_beat_and_it_is_recreated_not_rolled():
    beat = k8s_object("Deployment", "ballast-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    beats = [s.where for s in runtime_commands() if "beat" in s.argv and "celery" in s.argv[0]]
    assert sorted(beats) == ["compose beat.command", "k8s Deployment/ballast-beat container beat"]


# --- Kubernetes: probes, resources, RBAC, metrics --------------------------------------------


def test_web_probes_use_healthz_and_readyz_on_the_served_port():
    (container,) = pod_spec(k8s_object("Deployment", "ballast-web"))["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("livenessProbe", "readinessProbe"):
        port = container[probe]["httpGet"]["port"]
        assert ports.get(port, port) == 8000


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


@pytest.mark.parametrize(
    "workload, container",
    workload_containers(),
    ids=[f"{workload} {container['name']}" for workload, container in workload_containers()],
)
def test_every_container_has_requests_and_limits(workload, container):
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources.get(kind) or {}), f"{workload}: no {kind}"


def test_role_grants_exactly_what_the_actuators_call():
    roles = {role["metadata"]["name"]: role for role in k8s_objects("Role")}
    assert set(roles) == {"ballast-actuator", "ballast-impersonate-teams"}
    granted = {
        (group, resource, verb)
        for rule in roles["ballast-actuator"]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == ACTUATOR_RULES
    assert not k8s_objects("ClusterRole") and not k8s_objects("ClusterRoleBinding")
    # Impersonation of the teams' accounts only, each by name; never of any account.
    (impersonate,) = roles["ballast-impersonate-teams"]["rules"]
    assert impersonate["verbs"] == ["impersonate"] and impersonate["resources"] == [
        "serviceaccounts"
    ]
    assert impersonate["resourceNames"]
    accounts = {
        a["metadata"]["name"]: a["metadata"]["namespace"] for a in k8s_objects("ServiceAccount")
    }
    assert accounts.pop("ballast") == "ballast"
    assert set(impersonate["resourceNames"]) == set(accounts)
    bound = {
        (b["roleRef"]["name"], s["name"], s["namespace"])
        for b in k8s_objects("RoleBinding")
        for s in b["subjects"]
        if b["roleRef"]["kind"] == "Role" and b["metadata"]["namespace"] == "inference"
    }
    team_bindings = {("ballast-actuator", name, ns) for name, ns in accounts.items()}
    assert bound == {
        ("ballast-actuator", "ballast", "ballast"),
        ("ballast-impersonate-teams", "ballast", "ballast"),
        *team_bindings,
    }
    assert all(r["metadata"]["namespace"] == "inference" for r in roles.values())


def test_only_the_pods_that_actuate_carry_the_service_account():
    config = k8s_object("ConfigMap", "ballast-config")["data"]
    assert config["BALLAST_KUBE_MODE"] == "in-cluster"
    accounts = {}
    for _, doc in k8s_documents():
        if doc["kind"] in {"Deployment", "Job"}:
            spec = pod_spec(doc)
            token = spec.get("automountServiceAccountToken", True)
            accounts[doc["metadata"]["name"]] = spec.get("serviceAccountName") if token else None
    assert accounts == {
        "ballast-web": "ballast",
        "ballast-worker-cpu": "ballast",
        "ballast-worker-control": "ballast",
        "ballast-worker-actuation": "ballast",
        "ballast-worker-webhooks": None,
        "ballast-worker-gpu": None,
        "ballast-beat": None,
        "ballast-migrate": None,
    }


@pytest.mark.parametrize(
    "name, port",
    [
        ("ballast-web", 8000),
        ("ballast-worker-cpu", 9808),
        ("ballast-worker-control", 9808),
        ("ballast-worker-actuation", 9808),
        ("ballast-worker-webhooks", 9808),
        ("ballast-worker-gpu", 9808),
    ],
)
def test_prometheus_scrapes_web_and_workers_on_their_metrics_port(name, port):
    template = k8s_object("Deployment", name)["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == port
    (container,) = template["spec"]["containers"]
    assert port in {p["containerPort"] for p in container["ports"]}
    env = {item["name"]: item.get("value") for item in container.get("env", [])}
    if name != "ballast-web":
        assert env["BALLAST_WORKER_METRICS_PORT"] == str(port)


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
    for config in k8s_objects("ConfigMap"):
        found += [("ConfigMap", n, str(v)) for n, v in (config.get("data") or {}).items()]
    for workload, container in workload_containers():
        for item in container.get("env", []):
            found.append((workload, item["name"], str(item.get("value", ""))))
    return found


def test_no_deploy_file_holds_a_secret_value():
    for secret in k8s_objects("Secret"):
        for field in ("data", "stringData"):
            for key, value in (secret.get(field) or {}).items():
                assert PLACEHOLDER.match(str(value or "")), f"Secret {key} has a value"
    for where, name, value in literal_settings():
        if SECRET_NAMES.search(name) and not value.startswith("${"):
            assert value == "", f"{where}: {name} is written down"
        password = URL_PASSWORD.search(value)
        assert not password or password.group(1).startswith("${"), f"{where}: {name} password"
    for workload, container in workload_containers():
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
    names |= {item["name"] for _, c in workload_containers() for item in c.get("env", [])}
    names = {name for name in names if SETTINGS_NAMES.match(name)}
    unread = set()
    for name in sorted(names):
        if name == dj_database_url.DEFAULT_ENV and "dj_database_url.config(" in settings_py:
            continue  # DATABASE_URL is read by dj_database_url.config()
        if re.search(rf"""["']{name}["']""", python) or re.search(rf"\$\{{?{name}\b", shell):
            continue
        unread.add(name)
    assert not unread, f"set by docker/ but read nowhere in the project: {sorted(unread)}"
