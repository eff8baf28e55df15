"""deploy/nginx.conf serves the disk store's media folder directly, with the app's headers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.e2e.conftest import _free_port, wait_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_nginx_serves_media_files_with_immutable_inert_headers(tmp_path):
    media = tmp_path / "media" / "ab" / "cd" / ("ab" + "cd" + "0" * 28)
    media.mkdir(parents=True)
    (media / "original.jpg").write_bytes(b"\xff\xd8\xff\xe0fake jpeg")
    (media / "upload.bin").write_bytes(b"raw upload")
    port = _free_port()
    conf = (DEPLOY / "nginx.conf").read_text().replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("alias /srv/townsquare/data/media/;", f"alias {tmp_path}/media/;")
    (tmp_path / "nginx.conf").write_text(conf)
    main = (DEPLOY / "nginx-main.conf").read_text().replace("/tmp/townsquare-nginx.pid", str(tmp_path / "nginx.pid"))
    main = main.replace("http {", f"http {{\n    client_body_temp_path {tmp_path}/body;\n    proxy_temp_path {tmp_path}/proxy;")
    if os.geteuid() == 0:  # nginx's workers would drop to "nobody", who may not enter pytest's private tmp dir
        main = "user root;\n" + main
    (tmp_path / "main.conf").write_text(main)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "main.conf"), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/system/media/ab/cd/abcd{'0' * 28}"

        def up():
            try:
                return httpx.get(f"{base}/original.jpg", timeout=1)
            except httpx.TransportError:
                return None

        r = wait_for(up, timeout=15)
        assert r is not None and r.status_code == 200 and r.content.startswith(b"\xff\xd8\xff")
        assert r.headers["content-type"] == "image/jpeg"
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert httpx.get(f"{base}/upload.bin").status_code == 404
        assert httpx.get(f"{base}/missing.png").status_code == 404
    finally:
        proc.terminate()
        proc.wait(10)
