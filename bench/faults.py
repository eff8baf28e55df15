"""Fault recovery times: runs the fault tests (real servers killed, disks filled, Redis flushed) and prints
the recovery figures they measure, one line per fault, for one backend (TOWNSQUARE_TEST_BACKEND)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/e2e/test_faults_jobs.py", "tests/e2e/test_faults_storage.py", "tests/e2e/test_faults_rooms.py",
         "tests/api/test_faults_redis.py", "tests/unit/test_faults_audio.py"]
SCALE_OUT = "tests/e2e/test_scale_out.py::test_killing_a_worker_mid_job_loses_nothing"


def main() -> None:
    """Run the fault tests with output shown and print the FAULT lines they report."""
    backend = os.environ.get("TOWNSQUARE_TEST_BACKEND", "sqlite")
    tests = TESTS + ([SCALE_OUT] if backend == "postgres" else [])
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *tests],
                          cwd=ROOT, capture_output=True, text=True)
    print(f"backend: {backend}")
    for line in done.stdout.splitlines():
        if line.startswith("FAULT "):
            print(line[len("FAULT "):])
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:])
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
