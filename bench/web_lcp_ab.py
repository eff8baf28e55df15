"""Benchmark: status page LCP of two versions of the code side by side, in the same run on the same data.

Usage: .venv/bin/python bench/web_lcp_ab.py BASE_SRC [--loads 9]
BASE_SRC is the src/ folder of the version to compare with (e.g. `git archive <commit> src | tar -x -C /tmp/base`
then /tmp/base/src). Both run as `townsquare serve` on loopback over one seeded data dir, and the loads alternate
between them (a fresh headless Chromium context each), so a loaded machine slows both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import web  # noqa: E402  (bench/web.py: its seed, LCP measure and summaries)

from townsquare.config import Settings  # noqa: E402
from townsquare.storage.db import migrate  # noqa: E402
from townsquare.wiring import build_context  # noqa: E402


def serve(port: int, data: Path, pythonpath: str | None) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "TOWNSQUARE_SECRET_KEY": "bench", "TOWNSQUARE_DOMAIN": "bench.local",
           "TOWNSQUARE_RATE_LIMITS_ENABLED": "false", **({"PYTHONPATH": pythonpath} if pythonpath else {})}
    return subprocess.Popen([str(web.BIN / "townsquare"), "serve", "--port", str(port), "--data-dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


async def main(base_src: str, loads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = Settings(data_dir=data, domain="bench.local", secret_key="bench", rate_limits_enabled=False,
                            run_jobs_in_process=False)
        await asyncio.to_thread(migrate, settings.effective_database_url)
        ctx = build_context(settings)
        status_id, _, _ = await web.seed(ctx, 20)
        await ctx.db.dispose()
        servers = {"base": (web.free_port(), base_src), "this": (web.free_port(), None)}
        procs = [serve(port, data, path) for port, path in servers.values()]
        try:
            urls = {name: f"http://127.0.0.1:{port}" for name, (port, _) in servers.items()}
            for url in urls.values():
                web.wait_ready(url)
                httpx.get(f"{url}/@user0/{status_id}")  # templates compiled before the first measured load
            results = {name: {"lcp": [], "ttfb": [], "css": []} for name in urls}
            for _ in range(loads):
                for name, url in urls.items():
                    one = await asyncio.to_thread(web.lcp, f"{url}/@user0/{status_id}", 1)
                    for key, values in one.items():
                        results[name][key] += values
            for name, paints in results.items():
                print(f"status page LCP, {name}: {web.paint_summary(paints)}")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("base_src")
    parser.add_argument("--loads", type=int, default=9)
    args = parser.parse_args()
    asyncio.run(main(args.base_src, args.loads))
