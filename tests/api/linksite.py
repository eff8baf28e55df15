"""A real HTTP server on loopback serving the pages link-card tests fetch: OpenGraph, oEmbed, redirects, big and slow pages."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="Otters &amp; their tools">
<meta property="og:description" content="How sea otters crack shells.">
<meta property="og:site_name" content="Otter Weekly">
<meta property="og:image" content="/img/otter.jpg">
<meta property="og:image:width" content="1200"><meta property="og:image:height" content="630">
<meta property="og:image:alt" content="An otter with a rock">
<meta name="author" content="Ada Lovelace">
<meta property="article:published_time" content="2026-11-30T12:00:00Z">
<link rel="alternate" type="application/json+oembed" href="/oembed.json">
</head><body><p>text</p></body></html>"""

OEMBED = {"type": "video", "version": "1.0", "title": "Otters (video)", "author_name": "Ada Lovelace",
          "author_url": "https://otters.example/ada", "provider_name": "OtterTube", "provider_url": "https://otters.example/",
          "width": 640, "height": 360,
          "html": '<iframe src="https://otters.example/embed/1" width="640" height="360"></iframe><script>alert(1)</script>'}

PLAIN = "<html><head><title>Just a  title</title></head><body>x</body></html>"


class LinkSite:
    """The running server: its base URL and how often each path was requested."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, code: int, body: bytes, content_type: str = "text/html; charset=utf-8", headers=None):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlsplit(self.path)
                site.hits[url.path] += 1
                query = parse_qs(url.query)
                if url.path.startswith("/article"):
                    self._send(200, ARTICLE.encode())
                elif url.path == "/oembed.json":
                    self._send(200, json.dumps(OEMBED).encode(), "application/json")
                elif url.path == "/plain":
                    self._send(200, PLAIN.encode())
                elif url.path == "/image.png":
                    self._send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
                elif url.path == "/big":
                    self._send(200, b"<html><head><title>Big</title></head><body>" + b"x" * 2_000_000 + b"</body></html>")
                elif url.path == "/big-chunked":  # no Content-Length: the cap must hold while reading
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"<html><head><title>Big</title></head><body>")
                    try:
                        for _ in range(200):
                            self.wfile.write(b"y" * 16384)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                elif url.path == "/slow":
                    time.sleep(float(query.get("s", ["3"])[0]))
                    self._send(200, PLAIN.encode())
                elif url.path == "/trickle":  # a byte every 0.2 s: never idle long enough for a read timeout
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        for _ in range(50):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.2)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                elif url.path == "/redirect":
                    self._send(302, b"", headers={"Location": query["to"][0]})
                elif url.path.startswith("/chain/"):
                    left = int(url.path.rsplit("/", 1)[1])
                    self._send(302, b"", headers={"Location": f"/chain/{left - 1}" if left > 0 else "/plain"})
                else:
                    self._send(404, b"not here")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # clients hanging up on big pages is the point
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LinkSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
