"""What every admin route needs: a staff viewer holding the matching admin scope."""

from __future__ import annotations

from starlette.requests import Request

from townsquare.api.deps import get_viewer
from townsquare.core.errors import ApiError
from townsquare.domain.models import Viewer


async def staff_viewer(request: Request, scope: str, *, admin_only: bool = False) -> Viewer:
    """Authenticate a moderator or admin whose token carries `scope`; both are required."""
    viewer = await get_viewer(request, scope)
    account = viewer.account
    if not account.is_staff or (admin_only and account.role != "admin"):
        raise ApiError(403, "This action is not allowed")
    return viewer
