"""The error of a file that cannot be taken: Mastodon answers 422 with the reason."""

from __future__ import annotations

from townsquare.core.errors import ApiError


class MediaError(ApiError):
    """An upload refused for what its bytes are (type, size, dimensions, damage): 422, nothing stored."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(status, message)
