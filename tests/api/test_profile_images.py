"""update_credentials with avatar and header files and their alt text (Mastodon 4.6's avatar_description)."""

from __future__ import annotations

import io

from PIL import Image

from tests.api.test_media import fetch, stored_files


def _jpeg(size=(80, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, "JPEG")
    return out.getvalue()


async def test_update_credentials_takes_an_avatar_and_header_with_descriptions(server):
    alice = await server.user("alice")
    r = await alice.http.patch("/api/v1/accounts/update_credentials", headers={"Authorization": f"Bearer {alice.token}"},
                               data={"avatar_description": "An orange square", "display_name": "Al"},
                               files={"avatar": ("a.jpg", _jpeg(), "image/jpeg")})
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["display_name"] == "Al" and me["avatar_description"] == "An orange square"
    assert not me["avatar"].endswith("/static/avatar.png") and me["avatar_static"] == me["avatar"]
    assert me["header"].endswith("/static/header.png")
    public = (await server.http.get(f"/api/v1/accounts/{alice.id}")).json()
    assert public["avatar"] == me["avatar"] and public["avatar_description"] == "An orange square"
    file = await fetch(server, me["avatar"])
    assert file.status_code == 200 and file.content[:2] == b"\xff\xd8"
    # Only the description changes: the image stays.
    r = await alice.http.patch("/api/v1/accounts/update_credentials", headers={"Authorization": f"Bearer {alice.token}"},
                               data={"avatar_description": "Orange"})
    assert r.json()["avatar"] == me["avatar"] and r.json()["avatar_description"] == "Orange"
    # Bad input changes nothing: an invalid note with a good header, or a file that is no image; no file is left behind.
    files_before = await stored_files(server)
    for data, files in (({"note": "x" * 501}, {"header": ("h.jpg", _jpeg((300, 100)), "image/jpeg")}),
                        ({}, {"header": ("h.jpg", b"GIF89a-not-really", "image/gif")}),
                        ({"header_description": "x" * 1501}, {})):
        r = await alice.http.patch("/api/v1/accounts/update_credentials", headers={"Authorization": f"Bearer {alice.token}"},
                                   data=data, files=files or None)
        assert r.status_code == 422 and "error" in r.json(), r.text
    assert await stored_files(server) == files_before
    after = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert after["header"].endswith("/static/header.png") and after["note"] == "" and after["header_description"] == ""


async def test_purging_an_account_deletes_its_profile_images(server):
    troll = await server.user("troll")
    admin = await server.user("boss", scopes="read write admin:read admin:write", role="admin")
    r = await troll.http.patch("/api/v1/accounts/update_credentials", headers={"Authorization": f"Bearer {troll.token}"},
                               files={"avatar": ("a.jpg", _jpeg(), "image/jpeg"), "header": ("h.jpg", _jpeg((300, 100)), "image/jpeg")})
    urls = [r.json()[k] for k in ("avatar", "header")]
    assert [(await fetch(server, u)).status_code for u in urls] == [200, 200]
    await admin.post(f"/api/v1/admin/accounts/{troll.id}/action", data={"type": "suspend"})
    assert (await admin.delete(f"/api/v1/admin/accounts/{troll.id}")).status_code == 200
    await server.settle()
    assert [(await fetch(server, u)).status_code for u in urls] == [404, 404]
