"""CORS in a real browser: a page on another loopback origin calls the API with a bearer token, as Elk does."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import BACKEND
from tests.e2e.conftest import PASSWORD

# Browser tests run once, in the SQLite pass: CORS is answered before any database is touched.
pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="browser tests run in the SQLite pass only")

PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>another app</title></head>
<body><p>A client app served from its own origin.</p></body></html>"""

# Runs in the page: a simple GET with a bearer token, then a JSON POST (which needs a preflight).
SCRIPT = """async ([api, token]) => {
  const auth = {Authorization: 'Bearer ' + token};
  const home = await fetch(api + '/api/v1/timelines/home?limit=1', {headers: auth});
  const posted = await fetch(api + '/api/v1/statuses', {method: 'POST',
      headers: {...auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'browser-1'},
      body: JSON.stringify({status: 'posted from another origin'})});
  let blocked = null;
  try { await fetch(api + '/oauth/authorize?client_id=x'); blocked = false; } catch (e) { blocked = true; }
  return {origin: location.origin, status: home.status, link: home.headers.get('Link'),
          remaining: home.headers.get('X-RateLimit-Remaining'), requestId: home.headers.get('X-Request-Id'),
          statuses: (await home.json()).map(s => s.content),
          postStatus: posted.status, posted: (await posted.json()).content, authorizeBlocked: blocked};
}"""


class _Page(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)


def _token(live_server) -> str:
    _, username, email = live_server.create_account("browser")
    app = httpx.post(f"{live_server.url}/api/v1/apps", data={"client_name": "browser", "scopes": "read write",
                                                             "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}).json()
    r = httpx.post(f"{live_server.url}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": email, "password": PASSWORD, "scope": "read write"})
    return r.json()["access_token"]


def test_a_page_on_another_origin_reads_the_api_and_its_link_header(live_server):
    from playwright.sync_api import sync_playwright

    token = _token(live_server)
    for n in range(2):
        r = httpx.post(f"{live_server.url}/api/v1/statuses", data={"status": f"home post {n}"},
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    site = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    page_url = f"http://127.0.0.1:{site.server_address[1]}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.goto(page_url)
                result = page.evaluate(SCRIPT, [live_server.url, token])
            finally:
                browser.close()
    finally:
        site.shutdown()
        site.server_close()
    assert result["origin"] != live_server.url  # another port: another origin
    assert result["status"] == 200
    assert result["statuses"] and "home post 1" in result["statuses"][0]
    assert result["link"] and 'rel="next"' in result["link"] and "max_id=" in result["link"]
    assert result["remaining"] is not None and int(result["remaining"]) >= 0
    assert result["requestId"]
    assert result["postStatus"] == 200 and "posted from another origin" in result["posted"]
    assert result["authorizeBlocked"] is True  # the authorize page stays unreadable from other sites
