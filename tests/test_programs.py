"""tests/programs.py: variables first, snaps passed over, versions in order, install commands."""

import sys
from pathlib import Path

import pytest

from tests import programs


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def bare_path(tmp_path, monkeypatch):
    """PATH holds only an empty folder; no variable names a program."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    for variable in ("PG_BIN", "PG_CONFIG", "REDIS_SERVER", "CHROMIUM"):
        monkeypatch.delenv(variable, raising=False)
    return folder


def test_pg_bin_names_the_folder_and_both_programs_come_from_it(tmp_path, monkeypatch):
    folder = tmp_path / "pg" / "bin"
    executable(folder / "initdb")
    monkeypatch.setenv("PG_BIN", str(folder))
    assert programs.pg_bin("pg_ctl") == str(folder / "pg_ctl")
    assert programs.pg_bin("initdb") == str(folder / "initdb")


def test_pg_config_names_the_folder_through_bindir(tmp_path, monkeypatch):
    folder = tmp_path / "pg17" / "bin"
    executable(folder / "initdb")
    pg_config = executable(tmp_path / "pg_config", f"#!/bin/sh\necho {folder}\n")
    monkeypatch.delenv("PG_BIN", raising=False)
    monkeypatch.setenv("PG_CONFIG", str(pg_config))
    assert programs.pg_bin("pg_ctl") == str(folder / "pg_ctl")


def test_a_variable_naming_nothing_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    monkeypatch.setenv("REDIS_SERVER", str(tmp_path / "redis-server"))
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "chrome"))
    with pytest.raises(programs.NotFound, match="PG_BIN"):
        programs.pg_bin("initdb")
    with pytest.raises(programs.NotFound, match="REDIS_SERVER"):
        programs.redis_server()
    with pytest.raises(programs.NotFound, match="CHROMIUM"):
        programs.chromium()


def test_redis_from_path_then_valkey(bare_path, monkeypatch):
    monkeypatch.setattr(programs, "HOMEBREW", ())
    valkey = executable(bare_path / "valkey-server")
    assert programs.redis_server() == str(valkey)
    redis = executable(bare_path / "redis-server")
    assert programs.redis_server() == str(redis)


def test_snap_chromium_is_passed_over(bare_path, monkeypatch):
    monkeypatch.setattr(programs, "MACOS_BROWSERS", ())
    monkeypatch.setattr(programs, "_playwright_chromium", lambda: None)
    executable(bare_path / "chromium", '#!/bin/sh\nexec /snap/bin/chromium "$@"\n')
    with pytest.raises(programs.NotFound):
        programs.chromium()
    chrome = executable(bare_path / "google-chrome")
    assert programs.chromium() == str(chrome)


def test_playwright_is_asked_only_when_no_installed_chromium_is_found(bare_path, monkeypatch):
    def asked():
        raise AssertionError("Playwright's driver started although a Chromium is on PATH")

    monkeypatch.setattr(programs, "_playwright_chromium", asked)
    chromium = executable(bare_path / "chromium")
    assert programs.chromium() == str(chromium)


def test_newest_postgresql_first_by_number():
    paths = [
        "/usr/lib/postgresql/9/bin/initdb",
        "/usr/lib/postgresql/17/bin/initdb",
        "/opt/homebrew/opt/postgresql@16/bin/initdb",
    ]
    assert programs._newest_first(paths) == [paths[1], paths[2], paths[0]]


@pytest.mark.parametrize(
    ("system", "distribution", "missing", "expected"),
    [
        (
            "Linux",
            "debian",
            ["postgresql", "redis", "chromium"],
            [["sudo", "apt-get", "install", "-y", "postgresql", "redis-server", "chromium"]],
        ),
        (
            "Linux",
            "ubuntu debian",
            ["redis", "chromium"],
            [
                ["sudo", "apt-get", "install", "-y", "redis-server"],
                [sys.executable, "-m", "playwright", "install", "chromium"],
            ],
        ),
        ("Linux", "fedora", ["redis"], [["sudo", "dnf", "install", "-y", "valkey"]]),
        (
            "Darwin",
            "",
            ["postgresql", "chromium"],
            [
                ["brew", "install", "postgresql@17"],
                [sys.executable, "-m", "playwright", "install", "chromium"],
            ],
        ),
    ],
)
def test_install_commands_per_platform(system, distribution, missing, expected):
    assert programs.Platform(system, distribution).install_commands(missing) == expected


def test_main_prints_the_install_command_and_fails_when_one_is_missing(
    bare_path, monkeypatch, capsys
):
    monkeypatch.setenv("REDIS_SERVER", str(bare_path / "nowhere"))
    monkeypatch.setattr(programs, "_playwright_chromium", lambda: None)
    monkeypatch.setattr(programs.Platform, "here", lambda: programs.Platform("Linux", "debian"))
    assert programs.main([]) == 1
    err = capsys.readouterr().err
    assert "REDIS_SERVER names" in err
    assert "sudo apt-get install -y" in err and "redis-server" in err


def test_main_succeeds_when_every_program_is_named(tmp_path, monkeypatch, capsys):
    executable(tmp_path / "pg" / "initdb")
    monkeypatch.setenv("PG_BIN", str(tmp_path / "pg"))
    monkeypatch.setenv("REDIS_SERVER", str(executable(tmp_path / "redis-server")))
    monkeypatch.setenv("CHROMIUM", str(executable(tmp_path / "chromium")))
    assert programs.main([]) == 0
    assert f"redis: {tmp_path / 'redis-server'}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("distribution", "expected"),
    [
        ("debian", [["apt-get", "install", "-y", "redis-server", "chromium"]]),
        (
            "ubuntu debian",
            [
                ["apt-get", "install", "-y", "redis-server"],
                [sys.executable, "-m", "playwright", "install", "--with-deps", "chromium"],
            ],
        ),
    ],
)
def test_root_on_debian_or_ubuntu_installs_what_is_missing(monkeypatch, distribution, expected):
    ran = []
    monkeypatch.setattr(programs.subprocess, "run", lambda argv, **_: ran.append(argv))
    monkeypatch.setattr(programs, "find_all", lambda: ({}, {}))
    commands = programs.Platform("Linux", distribution).install_commands(["redis", "chromium"])
    assert programs._install_as_root(commands) == 0
    assert ran == [["apt-get", "update", "-qq"], *expected]
