"""`townsquare spaces create | start | end | invite | show`: run a room as its host from the command line."""

from __future__ import annotations

import json
from typing import Optional

import httpx
import typer

Server = typer.Option(..., "--server", envvar="TOWNSQUARE_SERVER", help="Base URL of the server, e.g. http://127.0.0.1:8000.")
Token = typer.Option(..., "--token", envvar="TOWNSQUARE_TOKEN", help="Bearer token of the host (or a co-host).")


def _call(method: str, server: str, token: str, path: str, data: dict | None = None) -> dict:
    """Call the Spaces API and return its JSON, or exit with the server's error message."""
    try:
        r = httpx.request(method, server.rstrip("/") + path, data=data, timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {server}: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        body = r.json()
    except ValueError:
        body = {"error": r.text[:200]}
    if r.status_code >= 400:
        typer.echo(f"error: {r.status_code} {body.get('error', '')}", err=True)
        raise typer.Exit(1)
    return body


def _summary(space: dict) -> None:
    typer.echo(json.dumps({k: space.get(k) for k in ("id", "title", "state", "hls_url", "recording_url", "url")}))


def create(title: str = typer.Argument(..., help="The room's title."),
           record: bool = typer.Option(False, "--record", help="Keep a recording for replay."),
           scheduled_at: Optional[str] = typer.Option(None, "--scheduled-at", help="ISO 8601 time it is planned for."),
           start_now: bool = typer.Option(False, "--start", help="Go live right away."),
           server: str = Server, token: str = Token) -> None:
    """Create a room (and start it with --start); prints a JSON summary with its id and hls_url."""
    data = {"title": title, "record": "true" if record else "false"}
    if scheduled_at:
        data["scheduled_at"] = scheduled_at
    space = _call("POST", server, token, "/api/v1/spaces", data)
    if start_now:
        space = _call("POST", server, token, f"/api/v1/spaces/{space['id']}/start")
    _summary(space)


def start(space_id: str = typer.Argument(...), server: str = Server, token: str = Token) -> None:
    """Put a room on air; prints its JSON summary with the live hls_url."""
    _summary(_call("POST", server, token, f"/api/v1/spaces/{space_id}/start"))


def end(space_id: str = typer.Argument(...), server: str = Server, token: str = Token) -> None:
    """End a live room; prints its JSON summary with the recording_url when it was recorded."""
    _summary(_call("POST", server, token, f"/api/v1/spaces/{space_id}/end"))


def invite(space_id: str = typer.Argument(...), account_id: str = typer.Argument(..., help="Who may speak."),
           cohost: bool = typer.Option(False, "--cohost", help="Make them a co-host instead (host only)."),
           server: str = Server, token: str = Token) -> None:
    """Put an account on the stage as a speaker (or a co-host)."""
    path = "cohosts" if cohost else "speakers"
    space = _call("POST", server, token, f"/api/v1/spaces/{space_id}/{path}", {"account_id": account_id})
    for person in space["speakers"]:
        typer.echo(f"{person['role']:8} {person['account']['id']} @{person['account']['username']}"
                   f"{' (muted)' if person['muted'] else ''}")


def show(space_id: str = typer.Argument(...), server: str = Server, token: str = Token) -> None:
    """Print a room's JSON as the API gives it to its host (with requests to speak)."""
    typer.echo(json.dumps(_call("GET", server, token, f"/api/v1/spaces/{space_id}"), indent=2, ensure_ascii=False))
