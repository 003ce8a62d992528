"""The container recipe for a Dask cluster (compose.dask.yaml): no Docker engine runs here, so
its services, ports and every command's options are checked against the installed commands."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import BIN

COMPOSE = Path(__file__).parent.parent / "compose.dask.yaml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_a_scheduler_two_workers_and_mlflow_from_the_projects_image(services: dict) -> None:
    # given the recipe; then it runs a scheduler, two workers and an MLflow server
    commands = {name: service["command"][:2] for name, service in services.items()}
    assert commands["scheduler"] == ["dask", "scheduler"]
    assert [name for name, c in commands.items() if c == ["dask", "worker"]] == [
        "worker-1",
        "worker-2",
    ]
    assert commands["mlflow"] == ["mlflow", "server"]
    # and every service is the project's image, built from its Dockerfile, sharing one volume
    for service in services.values():
        assert service["image"] == "likecast"
        assert service["build"] == "."
        assert "shared:/shared" in service["volumes"]
    # and the workers find the scheduler by its service name and port
    scheduler_port = services["scheduler"]["command"][5]
    assert services["worker-1"]["command"][2] == f"tcp://scheduler:{scheduler_port}"


def test_ports_are_published_on_the_hosts_loopback_only(services: dict) -> None:
    published = [port for s in services.values() for port in s.get("ports", [])]
    assert published
    assert all(port.startswith("127.0.0.1:") for port in published)


@pytest.mark.subprocess
@pytest.mark.parametrize("service", ["scheduler", "worker-1", "mlflow"])
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
def test_the_documented_train_command_has_the_options_it_uses() -> None:
    recipe = COMPOSE.read_text()
    result = subprocess.run(
        [str(BIN / "likecast"), "train", "--help"], capture_output=True, text=True, timeout=120
    )
    for option in ("--engine", "--scheduler", "--work"):
        assert option in recipe
        assert option in result.stdout
