"""Attaching uploads to statuses: Mastodon's rules for media_ids[] and media_attributes[]."""

from __future__ import annotations

from townsquare.core.errors import ApiError
from townsquare.core.ids import parse_id
from townsquare.domain.media import MAX_ATTACHMENTS, MediaAttachment
from townsquare.media.uploads import check_description, parse_focus
from townsquare.storage import media as media_rows


def parse_media_ids(values: list) -> list[int]:
    """The ids of media_ids[] in order, without repeats; 422 for more than four or an id that is not one."""
    ids: list[int] = []
    for value in values:
        if value in ("", None):
            continue  # an empty media_ids[] (some clients send one to mean "none")
        parsed = parse_id(str(value))
        if parsed is None:
            raise ApiError(422, f"Media {value} not found or already attached to another post")
        if parsed not in ids:
            ids.append(parsed)
    if len(ids) > MAX_ATTACHMENTS:
        raise ApiError(422, f"Cannot attach more than {MAX_ATTACHMENTS} files")
    return ids


async def media_for_status(conn, account_id: int, media_ids: list[int], status_id: int | None = None) -> list[MediaAttachment]:
    """The uploads a status may take, in order: the author's own, unattached (or already this status's), processed."""
    found = await media_rows.get_many(conn, media_ids)
    missing = [str(i) for i in media_ids if i not in found or found[i].account_id != account_id
               or found[i].status_id not in (None, status_id)]
    if missing:
        raise ApiError(422, f"Media {', '.join(missing)} not found or already attached to another post")
    media = [found[i] for i in media_ids]
    if len(media) > 1 and any(m.type in ("video", "audio", "gifv") for m in media):
        raise ApiError(422, "Cannot attach a video to a post that already contains images")
    if any(m.state == "processing" for m in media):
        raise ApiError(422, "Cannot attach files that have not finished processing. Try again in a moment!")
    if any(m.state == "failed" for m in media):
        raise ApiError(422, "Cannot attach files that could not be processed")
    return media


async def apply_media_attributes(conn, account_id: int, status_id: int, attributes: list) -> None:
    """Change alt text and focus of a status's attachments on edit (media_attributes[][id|description|focus])."""
    mine = {m.id: m for m in await media_rows.of_status(conn, status_id)}
    for item in attributes:
        if not isinstance(item, dict):
            raise ApiError(422, "Validation failed: media_attributes must be a list of objects")
        media_id = parse_id(str(item.get("id", "")))
        media = mine.get(media_id) if media_id is not None else None
        if media is None or media.account_id != account_id:
            raise ApiError(422, f"Media {item.get('id')} not found or not attached to this post")
        values: dict = {}
        if item.get("description") is not None:
            values["description"] = check_description(str(item["description"]))
        point = parse_focus(item.get("focus"))
        if point is not None:
            values["meta"] = {**media.meta, "focus": point}
        if values:
            await media_rows.save(conn, media.id, **values)
