"""The project's promises about itself: CLI help, layering, container, CI."""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import click
import pytest
import typer

from serving.api.demo import main as demo_main
from serving.cli import app, main

ROOT = Path(__file__).resolve().parents[1]
# left to right: the shared ground, then the way data flows
PACKAGES = ("likecast", "features", "models", "training", "serving")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_every_command_is_listed_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    expected = {
        "simulate",
        "validate",
        "features",
        "train",
        "evaluate",
        "promote",
        "models",
        "mlflow-ui",
        "serve",
    }
    assert expected <= {name.split()[0] for name, _ in COMMANDS}
    for name in expected:
        assert name in listing


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_and_option_explains_itself(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{name} has no help"
    for param in command.params:
        if param.name == "help":
            continue
        assert getattr(param, "help", None), f"{name} {param.name} has no help"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_data_flows_one_way(package: str) -> None:
    """A package imports only from packages to its left; the CLI root, in the rightmost
    package, may see them all without an exception."""
    later = set(PACKAGES[PACKAGES.index(package) + 1 :])
    for path in (ROOT / package).rglob("*.py"):
        assert not (_imports(path) & later), f"{path.relative_to(ROOT)} imports {later}"


# inside serving/: what each part may import of serving (api -> swap -> core; batch -> core)
SERVING_LAYERS = {
    "core": {"core"},
    "swap": {"swap", "core"},
    "batch": {"batch", "core"},
    "api": {"api", "swap", "core"},
    "cli.py": {"api", "batch"},  # the command's root mounts the commands of api/ and batch/
}


def _serving_parts(path: Path) -> set[str]:
    """The parts of ``serving`` a module imports (``serving.core.x`` -> ``core``)."""
    tree = ast.parse(path.read_text())
    modules = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    modules += [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    ]
    return {m.split(".")[1] for m in modules if m.startswith("serving.") and m.count(".") >= 1}


def test_serving_parts_import_one_way() -> None:
    """HTTP stays in api/: the core answers without it, swap and batch build on the core."""
    # given every module of serving/, each in its part
    modules = [p for p in (ROOT / "serving").rglob("*.py") if p.name != "__init__.py"]
    for path in modules:
        part = path.relative_to(ROOT / "serving").parts[0]
        # then it sits in a known part and imports only the parts that part may use
        assert part in SERVING_LAYERS, f"{path.relative_to(ROOT)} is outside {set(SERVING_LAYERS)}"
        wrong = _serving_parts(path) - SERVING_LAYERS[part]
        assert not wrong, f"{path.relative_to(ROOT)} imports serving.{wrong}"


def test_the_serving_core_knows_no_http() -> None:
    # given the core's modules, then none imports a web framework
    http = {"bentoml", "fastapi", "starlette", "uvicorn", "httpx", "_bentoml_impl"}
    for path in (ROOT / "serving" / "core").rglob("*.py"):
        assert not (_imports(path) & http), f"{path.relative_to(ROOT)} imports {http}"


def test_the_architecture_map_names_every_module_and_only_real_ones() -> None:
    # given the map and the packages' modules
    text = (ROOT / "docs" / "architecture.md").read_text()
    modules = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    # when the module paths it names are read
    named = set(re.findall(r"`((?:likecast|features|models|training|serving)/[\w/]+\.py)`", text))
    # then every module has its line, and every path it names exists
    assert modules - named == set(), "modules missing from docs/architecture.md"
    assert named - modules == set(), "docs/architecture.md names modules that do not exist"


def test_the_dockerfile_copies_real_paths_and_runs_a_real_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (ROOT / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            *sources, _target = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    assert cmd[0] == "likecast"
    assert main([*cmd[1:2], "--help"]) == 0
    help_text = capsys.readouterr().out
    for option in (a for a in cmd[2:] if a.startswith("--")):
        assert option in help_text, f"CMD uses unknown option {option}"
    assert "USER likecast" in text
    assert "OMP_NUM_THREADS" in text
    assert "/readyz" in re.search(r"HEALTHCHECK.*\n.*", text).group(0)
    assert "uv sync --locked" in text


def _commands(script: str) -> list[list[str]]:
    """The commands a shell script runs, as words (comments, ``set`` and ``cd`` left out)."""
    lines = (line.split("#", 1)[0].strip() for line in script.splitlines())
    return [shlex.split(line) for line in lines if line and line.split()[0] not in ("set", "cd")]


def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))


def test_ci_and_readme_use_the_same_test_command() -> None:
    # given the one command CI runs, and the one the README says CI runs
    ci = _commands((ROOT / ".ci" / "run").read_text())
    readme = (ROOT / "README.md").read_text()
    said = re.search(r"`([^`]+)` is what CI runs", readme)
    assert said, "the README names the command CI runs"
    # then they are the same command, word for word, and a target the Makefile has
    assert ci == [shlex.split(said.group(1))], (ci, said.group(1))
    assert ci[0][:1] == ["make"], ci
    assert set(ci[0][1:]) <= _make_targets(), ci
    # and the README's list of commands shows it, and `make demo`, each as a whole command
    listed = [line.split("#", 1)[0].split() for line in _fenced(readme, "bash")]
    assert ci[0] in listed, listed
    assert ["make", "demo"] in listed, listed


def _fenced(text: str, language: str) -> list[str]:
    """The lines of every ``language`` code block of a Markdown text."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_demo_prints_the_page_and_two_pasteable_requests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert demo_main(["--port", "3999"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:3999/ui" in out
    commands = [shlex.split(line) for line in out.splitlines() if line.strip().startswith("curl")]
    assert len(commands) == 2
    for argv in commands:
        body = json.loads(argv[argv.index("-d") + 1])  # what the shell hands to curl
        assert body["creator_id"]
    assert {argv[4].rsplit("/", 1)[1] for argv in commands} == {"predict_draft", "predict_early"}
