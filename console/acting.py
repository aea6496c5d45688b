"""`make dev` only: the operator chooses whom the console acts as (the local cloud reads `X-Local-Principal` as the
caller), so that under `Isolation=owner` the console shows and changes a principal's tasks, or everything as an
administrator. Against AWS (`make console`) there is no such choice: the API sees the operator's own signature."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRouter

from console.web import PREFIX, PRINCIPAL, PRINCIPAL_COOKIE, ConsoleDep, FormDep, page, see_other

router = APIRouter()


def _back(path: str) -> str:
    """Where to return after the choice: a console page (never another site), else the task list."""
    inside = path.startswith(PREFIX + "/") and not path.startswith(PREFIX + "/act-as")
    return path.removeprefix(PREFIX) if inside and "//" not in path and "\\" not in path else "/tasks"


@router.post("/act-as", response_class=HTMLResponse)
def act_as(request: Request, console: ConsoleDep, values: FormDep) -> Response:
    """Act as the principal given (nothing: as no principal) from now on, in this browser."""
    if console.act_as is None:
        return page(request, "act_as.html", {"section": "", "act_as_error": "not offered here"}, 404)
    principal = values.get("principal", "").strip()
    if principal and not PRINCIPAL.fullmatch(principal):
        error = (
            f"give an IAM ARN such as arn:aws:iam::123456789012:user/alice (got {principal[:80]!r}), "
            "or nothing to act as no principal"
        )
        return page(request, "act_as.html", {"section": "", "act_as_error": error, "typed": principal})
    response = see_other(request, _back(values.get("back", "")))
    if principal:
        response.set_cookie(PRINCIPAL_COOKIE, quote(principal, safe=""), path=PREFIX, httponly=True, samesite="lax")
    else:
        response.delete_cookie(PRINCIPAL_COOKIE, path=PREFIX)
    return response
