"""One Chromium (Debian's, driven by Playwright) per browser test module, and where screenshots go."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("TOWNSQUARE_TEST_OUTPUT", ROOT / "test-output"))
AXE = Path(sys.prefix) / "vendor" / "axe.min.js"  # installed by scripts/install-assets --test


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium shared by a module's browser tests (contexts keep the tests apart).

    Module-scoped, not session-scoped: Playwright's sync API keeps an event loop running in this thread
    while it is started, which would break every later asyncio test of the session.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under the test output directory."""
    path = OUTPUT / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def make_admin(live_server, username: str) -> None:
    """Create a staff account with the CLI."""
    out = subprocess.run([str(Path(sys.executable).parent / "townsquare"), "accounts", "create", username, "--email",
                          f"{username}@example.org", "--password", "correct horse battery staple", "--admin",
                          "--data-dir", str(live_server.data_dir)], env=live_server.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
