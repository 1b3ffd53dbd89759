"""Benchmarks: `make bench` (python -m benchmarks [-k NAME]) runs every `bench_*.py` module's `main()`.

Each benchmark measures the project's way and a naive baseline side by side in one run and prints the
ratio, because these machines are shared and absolute times drift.
"""
