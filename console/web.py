"""What every page shares: the Console the routes work with, the templates and their filters, forms, redirects."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from console.api import SchedulerApi
from console.deadletters import KINDS, DeadLetterDesk
from console.forms import TIMINGS

HERE = Path(__file__).parent
PREFIX = "/console"
#: The statuses the task list filters on (the ledger's; today's API knows ENABLED/DISABLED as state).
STATUSES = ("scheduled", "paused", "succeeded", "failed", "rejected", "cancelled", "ended")
STATE_OF = {"scheduled": "ENABLED", "paused": "DISABLED"}
STATUS_OF = {"ENABLED": "scheduled", "DISABLED": "paused"}
#: Form controls of the create and reschedule forms that API errors can be shown beside.
CONTROLS = {
    "task_id",
    "user_id",
    "action",
    "timing",
    "delay_amount",
    "run_at",
    "cron",
    "rate",
    "timezone",
    "start_at",
    "end_at",
    "retry.max_attempts",
    "retry.max_event_age_seconds",
    "flexible_window_minutes",
    "data",
}


@dataclass
class Console:
    """What the pages work with: the API, the dead letters (None when unknown), and where this console points."""

    api: SchedulerApi
    dead_letters: DeadLetterDesk | None = None
    where: str = "local cloud"
    poll_seconds: float = 2.0
    page_size: int = 20
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def get_console(request: Request) -> Console:
    """The app's Console (set by create_app)."""
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
templates = Jinja2Templates(env=_environment)


def _dash(value: Any) -> Any:
    """What the API did not give is shown as an em dash (older and newer APIs differ in what they give)."""
    return "—" if value is None or value == "" else value


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


_environment.filters["dash"] = _dash
_environment.filters["pretty"] = _pretty
_environment.filters["q"] = lambda value: quote(str(value), safe="")
_environment.globals.update(PREFIX=PREFIX, TIMINGS=TIMINGS, KINDS=KINDS, STATUSES=STATUSES)


def page(request: Request, name: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    console = get_console(request)
    return templates.TemplateResponse(
        request,
        name,
        {"where": console.where, "notice": request.query_params.get("notice"), **context},
        status_code=status,
    )


def see_other(path: str, notice: str | None = None) -> RedirectResponse:
    query = "?" + urlencode({"notice": notice}) if notice else ""
    return RedirectResponse(PREFIX + path + query, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form (parsed here: python-multipart is not a dependency)."""
    return dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))


FormDep = Annotated[dict[str, str], Depends(_form)]


def same_origin(request: Request) -> bool:
    """A change must come from the console's own pages: a cross-site form post is refused (CSRF)."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == "null" or urlsplit(origin).netloc == request.headers.get("host")
