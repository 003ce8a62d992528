"""The whole deployment (compose.yaml), checked statically: .ci/compose-smoke.sh runs it
(`make compose-test`, it needs a Docker engine), so here its services, images, health and
ports, and every command's options against the installed commands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import BIN

ROOT = Path(__file__).parent.parent
COMPOSE = ROOT / "compose.yaml"
LONG_RUNNING = ["postgres", "mlflow", "scheduler", "worker-1", "worker-2", "replica-1", "replica-2"]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_the_deployment_runs_postgres_mlflow_a_dask_cluster_and_two_replicas(
    services: dict,
) -> None:
    # given the recipe; then `up` starts these services, the trainer only when asked
    started = [name for name, service in services.items() if "profiles" not in service]
    assert started == LONG_RUNNING
    assert services["trainer"]["profiles"] == ["run"]
    commands = {name: service.get("command", [])[:2] for name, service in services.items()}
    assert commands["mlflow"] == ["mlflow", "server"]
    assert commands["scheduler"] == ["dask", "scheduler"]
    assert [n for n, c in commands.items() if c == ["dask", "worker"]] == ["worker-1", "worker-2"]
    # and the workers find the scheduler by its service name and port
    scheduler_port = services["scheduler"]["command"][5]
    assert services["worker-1"]["command"][2] == f"tcp://scheduler:{scheduler_port}"


@pytest.mark.parametrize(
    ("service", "image", "target"),
    [
        ("postgres", "likecast-img-postgres", "postgres"),
        ("mlflow", "likecast-img-full", "full"),
        ("scheduler", "likecast-img-full", "full"),
        ("worker-2", "likecast-img-full", "full"),
        ("trainer", "likecast-img-full", "full"),
        ("replica-1", "likecast-img-serve", "serve"),
        ("replica-2", "likecast-img-serve", "serve"),
    ],
)
def test_each_service_runs_its_image_built_from_a_target_of_the_dockerfile(
    services: dict, service: str, image: str, target: str
) -> None:
    # given a service; then its image is built from a stage the Dockerfile names
    assert services[service]["image"] == image
    assert services[service]["build"]["target"] == target
    stages = re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert target in stages


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_service_reports_health_and_waits_for_its_dependencies_health(
    services: dict, service: str
) -> None:
    assert services[service]["healthcheck"]["test"][0] == "CMD"
    for condition in services[service].get("depends_on", {}).values():
        assert condition == {"condition": "service_healthy"}


def test_the_replicas_read_the_store_and_the_champion_that_training_writes(
    services: dict,
) -> None:
    # given the replicas' and the trainer's settings
    replica, trainer = services["replica-1"]["environment"], services["trainer"]["environment"]
    # then both name the same PostgreSQL store and the MLflow server
    assert replica["LIKECAST_STORE_URL"] == trainer["LIKECAST_STORE_URL"]
    assert "@postgres:5432/" in replica["LIKECAST_STORE_URL"]
    assert replica["LIKECAST_TRACKING_URI"] == trainer["LIKECAST_TRACKING_URI"]
    assert replica["LIKECAST_TRACKING_URI"] == "http://mlflow:5000"
    # and the MLflow server keeps its runs in the same PostgreSQL server, its own database
    command = services["mlflow"]["command"]
    backend = command[command.index("--backend-store-uri") + 1]
    assert backend.startswith("postgresql+psycopg://")
    assert "@postgres:5432/mlflow" in backend
    # and it accepts requests that name it by its service name
    assert "mlflow:*" in command[command.index("--allowed-hosts") + 1].split(",")
    # and the replicas run with a read-only root filesystem
    assert services["replica-2"]["read_only"] is True


def test_ports_are_published_on_the_hosts_loopback_only(services: dict) -> None:
    published = [port for s in services.values() for port in s.get("ports", [])]
    assert len(published) == 4
    assert all(port.startswith("127.0.0.1:") for port in published)


@pytest.mark.subprocess
@pytest.mark.parametrize("service", ["mlflow", "scheduler", "worker-1"])
def test_every_option_of_a_command_exists_in_the_installed_command(
    services: dict, service: str
) -> None:
    # given a service's command line
    program, subcommand, *arguments = services[service]["command"]
    # when the installed command is asked for its options
    result = subprocess.run(
        [str(BIN / program), subcommand, "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # then it knows every option the recipe passes
    for option in (a for a in arguments if a.startswith("--")):
        assert option in result.stdout, f"{program} {subcommand} has no {option}"


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("train", ["--data", "--engine", "--scheduler", "--work"]),
        ("simulate", ["--videos", "--seed", "--start", "--part-videos", "--out"]),
        ("score", ["--input", "--output", "--engine", "--scheduler"]),
    ],
)
def test_the_smoke_scripts_commands_have_the_options_it_uses(
    command: str, options: list[str]
) -> None:
    # given the smoke script's likecast commands
    script = (ROOT / ".ci" / "compose-smoke.sh").read_text()
    assert f"likecast {command} " in script
    # when the installed command is asked for its options; then it knows those the script uses
    result = subprocess.run(
        [str(BIN / "likecast"), command, "--help"], capture_output=True, text=True, timeout=120
    )
    for option in options:
        assert option in script
        assert option in result.stdout
