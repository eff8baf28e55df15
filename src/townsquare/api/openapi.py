"""Describes the parameters routes read from the request themselves, so the OpenAPI schema (and fuzzing) sees them."""

from __future__ import annotations

from fastapi import FastAPI

S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
A = {"type": "array", "items": {"type": "string"}}
PAGE = {"max_id": S, "since_id": S, "min_id": S, "limit": I}
VISIBILITY = {"type": "string", "enum": ["public", "unlisted", "private", "direct"]}
STATUS_BODY = {"status": S, "spoiler_text": S, "visibility": VISIBILITY, "sensitive": B, "language": S, "in_reply_to_id": S}
NOTIFICATION_TYPES = {"types": A, "exclude_types": A, "account_id": S}
POLL = {"type": "object", "properties": {"options": A, "expires_in": I, "multiple": B, "hide_totals": B}}
# Polls, scheduling and quotes on statuses, and their own routes.
STATUS_BODY = {**STATUS_BODY, "poll": POLL, "scheduled_at": S, "quoted_status_id": S,
               "quote_approval_policy": {"type": "string", "enum": ["public", "followers", "nobody"]}}
POLL_PARAMETERS = {
    ("post", "/api/v1/polls/{poll_id}/votes"): {"body": {"choices": {"type": "array", "items": I}}},
    ("get", "/api/v1/scheduled_statuses"): {"query": PAGE},
    ("put", "/api/v1/scheduled_statuses/{scheduled_id}"): {"body": {"scheduled_at": S}},
    ("get", "/api/v1/conversations"): {"query": PAGE},
    ("get", "/api/v1/statuses/{status_id}/quotes"): {"query": PAGE},
}
FILTER_CONTEXT = {"type": "array", "items": {"type": "string", "enum": ["home", "notifications", "public", "thread", "account"]}}
FILTER_BODY = {"title": S, "context": FILTER_CONTEXT, "filter_action": {"type": "string", "enum": ["warn", "hide", "blur"]},
               "expires_in": I, "keywords_attributes": {"type": "array", "items": {"type": "object", "properties": {
                   "keyword": S, "whole_word": B, "id": S, "_destroy": B}}}}
V1_FILTER_BODY = {"phrase": S, "context": FILTER_CONTEXT, "irreversible": B, "whole_word": B, "expires_in": I}

# (method, path) -> {"query": {name: schema}, "body": {name: schema}}; bodies accept JSON and form encoding alike.
PARAMETERS: dict[tuple[str, str], dict[str, dict]] = {
    ("post", "/api/v1/apps"): {"body": {"client_name": S, "redirect_uris": S, "scopes": S, "website": S}},
    ("get", "/oauth/authorize"): {"query": {"client_id": S, "redirect_uri": S, "response_type": S, "scope": S, "state": S,
                                            "code_challenge": S, "code_challenge_method": S}},
    ("post", "/oauth/authorize"): {"body": {"client_id": S, "redirect_uri": S, "scope": S, "username": S, "password": S,
                                            "decision": {"type": "string", "enum": ["approve", "deny"]}}},
    ("post", "/oauth/token"): {"body": {"grant_type": {"type": "string", "enum": ["authorization_code", "password", "client_credentials"]},
                                        "client_id": S, "client_secret": S, "code": S, "redirect_uri": S, "code_verifier": S,
                                        "username": S, "password": S, "scope": S}},
    ("post", "/oauth/revoke"): {"body": {"client_id": S, "client_secret": S, "token": S}},
    ("get", "/.well-known/webfinger"): {"query": {"resource": S}},
    ("post", "/api/v1/accounts"): {"body": {"username": S, "email": S, "password": S, "agreement": B, "locale": S, "reason": S}},
    ("patch", "/api/v1/accounts/update_credentials"): {"body": {
        "display_name": S, "note": S, "locked": B, "bot": B, "discoverable": B,
        "fields_attributes": {"type": "array", "items": {"type": "object", "properties": {"name": S, "value": S}}},
        "source": {"type": "object", "properties": {"privacy": S, "sensitive": B, "language": S}}}},
    ("get", "/api/v1/accounts/relationships"): {"query": {"id[]": A, "with_suspended": B}},
    ("get", "/api/v1/accounts/lookup"): {"query": {"acct": S}},
    ("get", "/api/v1/accounts/search"): {"query": {"q": S, "limit": I, "offset": I, "resolve": B, "following": B}},
    ("get", "/api/v1/accounts/familiar_followers"): {"query": {"id[]": A}},
    ("get", "/api/v1/accounts/{account_id}/statuses"): {"query": {**PAGE, "only_media": B, "exclude_replies": B,
                                                                   "exclude_reblogs": B, "pinned": B, "tagged": S}},
    ("get", "/api/v1/accounts/{account_id}/followers"): {"query": PAGE},
    ("get", "/api/v1/accounts/{account_id}/following"): {"query": PAGE},
    ("post", "/api/v1/accounts/{account_id}/follow"): {"body": {"reblogs": B, "notify": B, "languages": A}},
    ("post", "/api/v1/accounts/{account_id}/mute"): {"body": {"notifications": B, "duration": I}},
    ("post", "/api/v1/accounts/{account_id}/note"): {"body": {"comment": S}},
    ("post", "/api/v1/statuses"): {"body": STATUS_BODY},
    ("put", "/api/v1/statuses/{status_id}"): {"body": STATUS_BODY},
    ("post", "/api/v1/statuses/{status_id}/reblog"): {"body": {"visibility": VISIBILITY}},
    ("get", "/api/v1/statuses/{status_id}/favourited_by"): {"query": PAGE},
    ("get", "/api/v1/statuses/{status_id}/reblogged_by"): {"query": PAGE},
    ("get", "/api/v1/timelines/home"): {"query": PAGE},
    ("get", "/api/v1/timelines/public"): {"query": {**PAGE, "local": B, "remote": B, "only_media": B}},
    ("get", "/api/v1/timelines/tag/{hashtag}"): {"query": {**PAGE, "local": B, "any[]": A, "all[]": A, "none[]": A}},
    ("get", "/api/v1/bookmarks"): {"query": PAGE},
    ("get", "/api/v1/favourites"): {"query": PAGE},
    ("get", "/api/v1/notifications"): {"query": {**PAGE, **NOTIFICATION_TYPES}},
    ("get", "/api/v2/notifications"): {"query": {**PAGE, **NOTIFICATION_TYPES, "grouped_types": A, "expand_accounts": S}},
    ("get", "/api/v1/notifications/unread_count"): {"query": {"limit": I, **NOTIFICATION_TYPES}},
    ("post", "/api/v1/notifications/dismiss"): {"body": {"id": S}},
    ("get", "/api/v1/follow_requests"): {"query": PAGE},
    ("get", "/api/v1/blocks"): {"query": PAGE},
    ("get", "/api/v1/mutes"): {"query": PAGE},
    ("get", "/api/v2/search"): {"query": {"q": S, "type": {"type": "string", "enum": ["accounts", "hashtags", "statuses"]},
                                          "resolve": B, "following": B, "account_id": S, "exclude_unreviewed": B,
                                          **PAGE, "offset": I}},
    ("post", "/api/v2/filters"): {"body": FILTER_BODY},
    ("put", "/api/v2/filters/{filter_id}"): {"body": FILTER_BODY},
    ("post", "/api/v2/filters/{filter_id}/keywords"): {"body": {"keyword": S, "whole_word": B}},
    ("put", "/api/v2/filters/keywords/{keyword_id}"): {"body": {"keyword": S, "whole_word": B}},
    ("post", "/api/v2/filters/{filter_id}/statuses"): {"body": {"status_id": S}},
    ("post", "/api/v1/filters"): {"body": V1_FILTER_BODY},
    ("put", "/api/v1/filters/{filter_id}"): {"body": V1_FILTER_BODY},
    ("get", "/api/v1/markers"): {"query": {"timeline[]": A}},
    ("post", "/api/v1/markers"): {"body": {"home": {"type": "object", "properties": {"last_read_id": S}},
                                           "notifications": {"type": "object", "properties": {"last_read_id": S}}}},
    ("get", "/api/v1/followed_tags"): {"query": PAGE},
    ("get", "/api/v1/directory"): {"query": {"offset": I, "limit": I, "order": S, "local": B}},
    **POLL_PARAMETERS,
    # Media: the file itself comes as multipart `file` (and `thumbnail`); these are the other fields.
    ("post", "/api/v1/media"): {"body": {"description": S, "focus": S}},
    ("post", "/api/v2/media"): {"body": {"description": S, "focus": S}},
    ("put", "/api/v1/media/{media_id}"): {"body": {"description": S, "focus": S}},
}


def _body(properties: dict) -> dict:
    schema = {"type": "object", "properties": properties}
    return {"content": {"application/json": {"schema": schema}, "application/x-www-form-urlencoded": {"schema": schema}}}


def describe_parameters(app: FastAPI) -> None:
    """Make app.openapi() list the query and body parameters of PARAMETERS (generated once, then cached)."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for (method, path), spec in PARAMETERS.items():
            operation = schema.get("paths", {}).get(path, {}).get(method)
            if operation is None:
                continue
            known = {p["name"] for p in operation.get("parameters", [])}
            operation.setdefault("parameters", []).extend(
                {"name": name, "in": "query", "required": False, "schema": value}
                for name, value in spec.get("query", {}).items() if name not in known)
            if "body" in spec:
                operation["requestBody"] = _body(spec["body"])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
