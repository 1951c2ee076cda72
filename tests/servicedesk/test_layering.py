"""The order of the apps (README, "Layout"): each app builds only on the apps below it.

A lower app never imports a higher one, not at module level and not inside a function: what a lower app needs
from a higher one reaches it through a hook the higher app registers in its ``AppConfig.ready`` (for example
contract cover for repairs, penalty deductions for the appraisal). The imports are read from the source, so a
hidden one fails here too.
"""

import ast
import pathlib

from django.apps import apps
from django.conf import settings

ROOT = pathlib.Path(settings.BASE_DIR)

# Lowest first. A new app takes its place here on purpose.
APP_ORDER = [
    "servicedesk",
    "parts",
    "repairs",
    "contracts",
    "complaints",
    "penalties",
    "records",
    "dashboard",
    "portal",
    "demo",
]


def _project_apps():
    return [config.name for config in apps.get_app_configs() if pathlib.Path(config.path).parent == ROOT]


def _imports(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_every_project_app_has_its_place_in_the_order():
    missing = sorted(set(_project_apps()) - set(APP_ORDER))
    assert not missing, f"add {missing} to APP_ORDER in {__file__} (and to README's layout), lowest first"


def test_no_app_imports_an_app_above_it():
    rank = {name: position for position, name in enumerate(APP_ORDER)}
    upward = []
    for app in _project_apps():
        for path in sorted((ROOT / app).rglob("*.py")):
            for line, module in _imports(path):
                target = module.split(".")[0]
                if target in rank and rank[target] > rank[app]:
                    upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not upward, "a lower app imports a higher one:\n" + "\n".join(upward)


def test_the_order_is_the_one_the_readme_describes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    present = set(_project_apps())
    order = " ← ".join(name for name in APP_ORDER if name in present)
    assert order in readme, f"README's layout should give the order of the apps as: {order}"
