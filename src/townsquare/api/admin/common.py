"""What every admin route needs: a staff viewer holding the matching admin scope."""

from __future__ import annotations

from starlette.requests import Request

from townsquare.api.deps import get_viewer
from townsquare.core.errors import ApiError
from townsquare.core.ids import parse_id
from townsquare.domain.models import Viewer


async def staff_viewer(request: Request, scope: str, *, admin_only: bool = False) -> Viewer:
    """Authenticate a moderator or admin whose token carries `scope`; both are required."""
    viewer = await get_viewer(request, scope)
    account = viewer.account
    if not account.is_staff or (admin_only and account.role != "admin"):
        raise ApiError(403, "This action is not allowed")
    return viewer


def id_filter(p: dict, name: str) -> int | None:
    """An id filter parameter: absent means no filter, a malformed one matches nothing."""
    if not p.get(name):
        return None
    parsed = parse_id(p.get(name))
    return parsed if parsed is not None else -1
