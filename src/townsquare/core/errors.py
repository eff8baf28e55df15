"""The one exception type the API turns into Mastodon's error shape."""

from __future__ import annotations


class ApiError(Exception):
    """An error with an HTTP status and Mastodon's `{"error": ...}` body."""

    def __init__(self, status: int, error: str, description: str | None = None, headers: dict | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def body(self) -> dict:
        """Return the JSON body Mastodon would send."""
        data = {"error": self.error}
        if self.description:
            data["error_description"] = self.description
        return data


def not_found(what: str = "Record not found") -> ApiError:
    """Return a 404 error."""
    return ApiError(404, what)


def unprocessable(message: str) -> ApiError:
    """Return a 422 validation error."""
    return ApiError(422, f"Validation failed: {message}")
