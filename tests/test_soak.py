"""A shortened soak run in the suite: a few hundred messages, the same faults as `make soak`."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_short_soak_with_a_killed_worker_and_restarted_redis_and_postgres_keeps_every_invariant():
    result = subprocess.run(
        [sys.executable, "-m", "soak.run", "--messages", "400", "--max-seconds", "300"],
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "invariants: all hold" in output
    # The faults really happened during the run.
    for fault in ("SIGKILL sending worker", "Redis restarted", "PostgreSQL restarted"):
        assert fault in output
