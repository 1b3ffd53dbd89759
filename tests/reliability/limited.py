"""`cadis ARGV` in a child process under an address-space limit: a command that would read a device or a
huge file into memory (the bug under test, on old code) fails there instead of exhausting the machine."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli_limited(*argv, limit_gb: int = 3, timeout: float = 180) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `cadis ARGV` run in a child limited to `limit_gb` GiB of address space."""
    proc = subprocess.run([sys.executable, "-c", CHILD.format(limit=limit_gb << 30), *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return proc.returncode, proc.stdout, proc.stderr
