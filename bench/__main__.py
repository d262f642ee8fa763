"""`python -m bench` (make bench): run every bench/bench_*.py module's main().

Each module measures its own baseline in the same run and prints its ratio;
this runner prints them together at the end.
"""

import importlib
import os
import sys
from pathlib import Path


def run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    import django

    django.setup()
    results = {}
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = f"bench.{path.stem}"
        print(f"== {name}")
        module = importlib.import_module(name)
        results[name] = module.main() or {}
        print()
    print("== ratios against the baseline measured in the same run")
    for name, result in results.items():
        ratios = {k: v for k, v in result.items() if "ratio" in k and isinstance(v, int | float)}
        shown = ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items()) or "(no ratio)"
        print(f"  {name:<24} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
