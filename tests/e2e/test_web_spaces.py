"""A Space in real browsers: the host speaks from the page through a fake microphone playing a 440 Hz tone,
a listener presses Play and hears it live, asks to speak and is approved from the host's page, and after
the end the recording holds the tone. One Chromium (with the fake microphone), contexts reused."""

from __future__ import annotations

import subprocess
import uuid

import numpy as np
import pytest
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.browser import CHROMIUM, screenshot
from tests.e2e.test_web_browser import sign_up

TONE_HZ = 440
SR = 48000


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    """A 440 Hz sine as a WAV file (sox), for Chromium's fake microphone to play in a loop."""
    path = tmp_path_factory.mktemp("mic") / "tone.wav"
    subprocess.run(["sox", "-n", "-r", str(SR), "-c", "1", "-b", "16", str(path), "synth", "10", "sine", str(TONE_HZ),
                    "vol", "0.5"], check=True, timeout=30)
    return path


@pytest.fixture(scope="module")
def mic_chromium(tone):
    """One headless Chromium whose microphone is the tone file, granted without a prompt."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={tone}", "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


def _decode(url: str) -> np.ndarray:
    """Decode what ffmpeg reads at a URL (an HLS playlist) to 48 kHz mono float samples."""
    done = subprocess.run(["ffmpeg", "-v", "error", "-i", url, "-ac", "1", "-ar", str(SR), "-f", "s16le", "-"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float32) / 32768.0


def _dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[: int(50 * len(samples) / SR)] = 0  # below 50 Hz is not what we look for
    return float(np.argmax(spectrum) * SR / len(samples))


def test_a_host_speaks_from_the_page_and_a_listener_hears_asks_and_is_approved(mic_chromium, live_server):
    url = live_server.url
    tag = uuid.uuid4().hex[:6]
    host_name, fan_name = f"sphost_{tag}", f"spfan_{tag}"
    expect.set_options(timeout=15_000)  # a shared, loaded 2-core box: waits are for live audio and polling
    host_ctx = mic_chromium.new_context()
    fan_ctx = mic_chromium.new_context()
    try:
        hp, fp = host_ctx.new_page(), fan_ctx.new_page()
        sign_up(hp, url, host_name)
        sign_up(fp, url, fan_name)

        # The host creates a recorded space from /spaces, starts it, and speaks from its page.
        hp.goto(f"{url}/spaces")
        hp.get_by_label("Title").fill(f"Tone talk {tag}")
        hp.get_by_label("Record it").check()
        hp.get_by_role("button", name="Create the space").click()
        expect(hp.get_by_role("heading", name=f"Tone talk {tag}", level=1)).to_be_visible()
        space_url = hp.url
        hp.get_by_role("button", name="Start the space").click()
        expect(hp.get_by_role("status").filter(has_text="You are on air.")).to_be_visible()
        hp.get_by_role("button", name="Start speaking").click()
        expect(hp.locator("#mic-status")).to_have_text("You are on air: everyone listening hears you.", timeout=10000)
        hp.wait_for_function("() => document.getElementById('mic-level').value > 0.1", timeout=5000)  # the meter moves

        # A session cookie opens the speaker socket only from this site's pages.
        cookie = next(c for c in host_ctx.cookies() if c["name"] == "ts_session")
        ws_url = space_url.replace("http://", "ws://").replace("/spaces/", "/api/v1/spaces/") + "/audio"
        with pytest.raises(InvalidStatus):
            connect(ws_url, additional_headers={"Cookie": f"ts_session={cookie['value']}",
                                                "Origin": "http://evil.example"}, open_timeout=5)

        # The listener presses Play: its audio element plays the live stream.
        fp.goto(space_url)
        fp.get_by_role("button", name="Play").click()
        fp.wait_for_function("() => document.getElementById('space-audio').currentTime > 1.5", timeout=25000)
        expect(fp.locator("#stage .speaking")).to_contain_text(host_name, timeout=10000)  # "speaking now"
        expect(fp.locator("#listener-count")).to_have_text("1 listening", timeout=10000)

        # It asks to speak (without leaving the page, so it keeps listening); the host approves from its page.
        fp.get_by_role("button", name="Request to speak").click()
        expect(fp.get_by_text("You asked to speak")).to_be_visible()
        approve = hp.get_by_role("button", name=f"Approve {fan_name}")
        expect(approve).to_be_visible(timeout=10000)  # the host's stage refreshes on its own
        approve.click()
        expect(hp.locator("#host-status, #live").filter(has_text="They can speak now.")).to_have_count(1)
        expect(hp.locator("#stage")).to_contain_text(fan_name)
        expect(hp.locator("#mic-status")).to_have_text("You are on air: everyone listening hears you.")  # still on air
        playing = fp.evaluate("document.getElementById('space-audio').currentTime")
        assert playing > 1.5  # the listener kept listening all along
        fp.get_by_role("link", name="You may speak: open the microphone controls").click(timeout=10000)
        expect(fp.get_by_role("button", name="Start speaking")).to_be_visible()
        expect(fp.get_by_role("link", name="You may speak: open the microphone controls")).to_have_count(0)
        screenshot(hp, "space-host")

        hp.get_by_role("button", name="End the space").click()
        expect(hp.get_by_role("status").filter(has_text="The space has ended.")).to_be_visible()
        expect(hp.get_by_role("heading", name="Recording")).to_be_visible()
        recording = hp.locator("#space-audio").get_attribute("data-source")
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for the tests that run after this one
        host_ctx.close()
        fan_ctx.close()
    samples = _decode(recording)
    assert len(samples) / SR > 3, (len(samples) / SR, playing)
    loud = samples[np.abs(samples) > 0.05]
    assert len(loud) / SR > 2  # seconds of tone, not silence
    assert abs(_dominant_hz(samples) - TONE_HZ) < 5
