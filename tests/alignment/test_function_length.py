"""A function holds one idea: none of the product's runs past about 60 lines
unless a `# Long:` comment next to it says why (the issue's rule, kept by a test)."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("alignment", "glossary", "leads", "sla")
LIMIT = 60


def _long_functions():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = path.read_text()
            lines = source.splitlines()
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                length = node.end_lineno - node.lineno + 1
                if length <= LIMIT:
                    continue
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                around = lines[max(first - 6, 0) : node.body[0].lineno + 3]
                if not any("# Long:" in line for line in around):
                    yield f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)"


def test_no_function_runs_long_without_a_reason_written_next_to_it():
    assert list(_long_functions()) == []


def test_the_rule_sees_a_long_function(tmp_path, monkeypatch):
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT + 1))
    package = tmp_path / "leads"
    package.mkdir()
    (package / "x.py").write_text(f"def too_long():\n{body}\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [line.split(" ")[1] for line in _long_functions()] == ["too_long"]
