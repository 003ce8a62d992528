"""The simulator is a package of its own: it stands in for real data, so it may not lean on
the code that reads data (docs/adr/0042)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIMULATION = ROOT / "features" / "simulation"


def _modules_imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_simulation_imports_nothing_from_features_but_itself() -> None:
    # given the simulation package's modules
    modules = sorted(SIMULATION.glob("*.py"))
    assert modules
    # when their imports are read
    for path in modules:
        outside = {
            name
            for name in _modules_imported(path)
            if name.split(".")[0] == "features" and not name.startswith("features.simulation")
        }
        # then none reaches into the rest of features/
        assert outside == set(), f"{path.relative_to(ROOT)} imports {outside}"
