"""Run the benchmarks and write each one's markdown report to benchmarks/results/.

Usage: ``python -m benchmarks [--quick] [NAME ...]`` (default: every benchmark module).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmark_names() -> list[str]:
    return sorted(
        info.name for info in pkgutil.iter_modules([str(HERE)]) if not info.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run: {', '.join(benchmark_names())}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute each")
    args = parser.parse_args(argv)
    names = args.names or benchmark_names()
    unknown = sorted(set(names) - set(benchmark_names()))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        report = importlib.import_module(f"benchmarks.{name}").main(quick=args.quick)
        elapsed = time.perf_counter() - started
        footer = f"\n\n_Ran in {elapsed:.0f} s{' (quick)' if args.quick else ''}._\n"
        (results / f"{name}.md").write_text(report.rstrip() + footer)
        print(report, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
