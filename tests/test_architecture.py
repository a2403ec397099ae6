"""The layer order of bistand/ (README, Layout) as import-linter contracts (pyproject.toml,
[tool.importlinter]): no upward import, no circle of modules, no browser in bistand.core, the
simulators and the bot apart. Run through import-linter's Python API, so `make test` fails on a new
cycle or upward import; `.venv/bin/lint-imports` prints the offending import chains."""

from __future__ import annotations

from pathlib import Path

import importlinter.api  # noqa: F401 - configures import-linter's adapters (grimp, the file readers)
import pytest
from importlinter.application.use_cases import lint_imports, read_user_options

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = {"layers", "no-cycles", "core-without-browser", "simulators-apart"}


def contract_results(config: Path) -> dict[str, bool]:
    """Contract id → kept, for a TOML configuration, each checked on its own as `lint-imports
    --contract ID` does (the report with the import chains goes to the test's output; a broken
    configuration raises; no cache is written into the tree)."""
    ids = [contract["id"] for contract in read_user_options(str(config)).contracts_options]
    return {contract: lint_imports(str(config), limit_to_contracts=(contract,), cache_dir=None, no_logo=True,
                                   is_debug_mode=True)
            for contract in ids}


def test_bistand_keeps_its_layer_contracts():
    results = contract_results(ROOT / "pyproject.toml")
    assert set(results) == CONTRACTS
    broken = sorted(contract for contract, kept in results.items() if not kept)
    assert not broken, f"broken import contracts {broken}: run .venv/bin/lint-imports for the import chains"


TOY_CONFIG = """
[tool.importlinter]
root_packages = ["{package}"]

[[tool.importlinter.contracts]]
id = "layers"
name = "high over low"
type = "layers"
containers = ["{package}"]
layers = ["high", "low"]

[[tool.importlinter.contracts]]
id = "no-cycles"
name = "no circle"
type = "acyclic_siblings"
ancestors = ["{package}"]
"""


def toy_package(tmp_path: Path, monkeypatch, name: str, upward: bool, circle: bool) -> Path:
    """A throwaway package `<name>` with the layers high and low, an upward import low → high when
    `upward`, and a circle of two modules in low when `circle`; returns its configuration file."""
    package = tmp_path / name
    for folder in (package, package / "high", package / "low"):
        folder.mkdir()
        (folder / "__init__.py").write_text("", encoding="utf-8")
    (package / "high" / "views.py").write_text(f"from {name}.low import store\n", encoding="utf-8")
    (package / "low" / "store.py").write_text(
        (f"from {name}.high import views\n" if upward else "") + (f"from {name}.low import rows\n" if circle else ""),
        encoding="utf-8")
    (package / "low" / "rows.py").write_text(f"from {name}.low import store\n" if circle else "", encoding="utf-8")
    config = tmp_path / f"{name}.toml"
    config.write_text(TOY_CONFIG.format(package=name), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return config


def test_an_upward_import_breaks_the_layers_contract(tmp_path, monkeypatch):
    config = toy_package(tmp_path, monkeypatch, "toy_upward", upward=True, circle=False)
    assert contract_results(config) == {"layers": False, "no-cycles": False}  # low ⇄ high is a circle too


def test_a_circle_of_modules_inside_a_layer_breaks_the_acyclic_contract(tmp_path, monkeypatch):
    config = toy_package(tmp_path, monkeypatch, "toy_circle", upward=False, circle=True)
    assert contract_results(config) == {"layers": True, "no-cycles": False}


def test_the_same_package_without_them_keeps_both(tmp_path, monkeypatch):
    config = toy_package(tmp_path, monkeypatch, "toy_clean", upward=False, circle=False)
    assert contract_results(config) == {"layers": True, "no-cycles": True}


@pytest.mark.parametrize("forbidden", ["bistand.browser", "playwright"])
def test_the_browser_contract_names_both_the_browser_module_and_playwright(forbidden):
    contracts = read_user_options(str(ROOT / "pyproject.toml")).contracts_options
    browser = next(c for c in contracts if c["id"] == "core-without-browser")
    assert browser["source_modules"] == ["bistand.core"] and forbidden in browser["forbidden_modules"]
