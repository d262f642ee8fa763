"""What the product imports at run time is installed by `make run` (requirements.lock),
not only by the test tools: a fresh clone's `make run` once failed to migrate because a
module imported a package only the dev lock pinned."""

import ast
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.processes import ROOT

APPS = ("alignment", "glossary", "leads", "sla")


def _imported_roots() -> dict[str, str]:
    roots: dict[str, str] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    roots.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return roots


def _pinned(lock: Path) -> set[str]:
    return {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in lock.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }


def test_every_package_the_product_imports_is_a_runtime_pin():
    local = set(APPS) | {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    owners = packages_distributions()
    pinned = _pinned(ROOT / "requirements.lock")
    missing = []
    for root, where in sorted(_imported_roots().items()):
        if root in sys.stdlib_module_names or root in local or root == "__future__":
            continue
        dists = {d.lower().replace("_", "-") for d in owners.get(root, [])}
        assert dists, f"{root} (imported in {where}) belongs to no installed package"
        if not dists & pinned:
            missing.append(f"{root} ({', '.join(sorted(dists))}) imported in {where}")
    assert not missing, "Imported at run time but pinned only for tests: " + "; ".join(missing)
