import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

import benchmarks


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("-k", default="", help="run only benchmarks whose module name contains this")
    args = parser.parse_args()
    names = [i.name for i in pkgutil.iter_modules(benchmarks.__path__) if i.name.startswith("bench_")]
    failed = 0
    for name in sorted(names):
        if args.k and args.k not in name:
            continue
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception as exc:  # report and go on with the others
            failed += 1
            print(f"FAILED: {type(exc).__name__}: {exc}")
        print(f"({name}: {time.perf_counter() - t0:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
