"""What every page shares: the Console the routes work with, the templates and their filters, forms, redirects."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from console import guard
from console.api import SchedulerApi
from console.deadletters import KINDS, DeadLetterDesk
from console.forms import TIMINGS
from console.timing import moment_text, relative
from taskcore.states import DELIVERED_STATES, TaskState

HERE = Path(__file__).parent
PREFIX = "/console"
#: The statuses the task list filters on (the ledger's; today's API knows ENABLED/DISABLED as state).
STATUSES = tuple(state.value for state in TaskState)
#: The statuses of a task that has ended: nothing to pause, reschedule or cancel.
ENDED = frozenset(state.value for state in TaskState if state.final)
#: A one-time task delivered and not over (running, retrying): it can only be cancelled (the API answers 409 else).
DELIVERED = frozenset(state.value for state in DELIVERED_STATES)
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


@dataclass(frozen=True)
class ActAs:
    """`make dev` only: the console may act as a principal the operator chooses, sent in `header` (the local cloud
    reads it as the caller; API Gateway never would). Never offered against AWS (`make console`)."""

    header: str
    isolation: str = "shared"
    admins: tuple[str, ...] = ()


#: A principal the console may act as: an IAM or STS ARN.
PRINCIPAL = re.compile(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]{1,1024}")
PRINCIPAL_COOKIE = "console_principal"
#: TASK_ISOLATION's value under which each owner has its own task ids.
OWNER_ISOLATION = "owner"


@dataclass
class Console:
    """What the pages work with: the API, the dead letters (None when unknown), and where this console points."""

    api: SchedulerApi
    dead_letters: DeadLetterDesk | None = None
    where: str = "local cloud"
    poll_seconds: float = 2.0
    page_size: int = 20
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Whom the operator may act as (make dev); None: the API sees the console's own credentials only.
    act_as: ActAs | None = None
    #: The URL the console is served at, once known: its Host is the only one it answers to (guard.host_allowed).
    served_at: Callable[[], str | None] = field(default=lambda: None)
    #: Made when the process starts: the CSRF tokens and the notices are signed with it.
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)


def acting_as(request: Request, console: Console) -> str | None:
    """The principal this browser chose to act as (make dev only), else None."""
    if console.act_as is None:
        return None
    chosen = unquote(request.cookies.get(PRINCIPAL_COOKIE, ""))
    return chosen if PRINCIPAL.fullmatch(chosen) else None


def owner_to_name(request: Request, console: Console, owner: Any) -> str | None:
    """The owner a task's console URL names (`?owner=`, passed on to every API call for its page), or None.

    Only `make dev` under owner isolation, acting as a principal, names one: a task whose owner is not that
    principal (an administrator's view of another owner's task; naming one's own owner is harmless too, as the
    API reads an owner as it reads the caller). Under shared isolation the API refuses `owner` (one namespace),
    and without a principal nobody may name one: those URLs stay as they were.
    """
    acting = acting_as(request, console)
    if console.act_as is None or console.act_as.isolation != OWNER_ISOLATION or acting is None:
        return None
    return owner if isinstance(owner, str) and owner != acting and PRINCIPAL.fullmatch(owner) else None


class BadOwner(ValueError):
    """Raise when a console URL's `owner` is not an IAM ARN (the console's answer is a 422 page)."""


def _owner(owner: str = "") -> str | None:
    """The `?owner=` of a task's URL: an IAM or STS ARN, or nothing (the caller's own task)."""
    if not owner:
        return None
    if not PRINCIPAL.fullmatch(owner):
        raise BadOwner(
            f"owner: give the task's owner as an IAM ARN such as arn:aws:iam::123456789012:user/alice "
            f"(got {owner[:80]!r}), or leave it out for a task of your own"
        )
    return owner


#: A task page's `?owner=`, validated (BadOwner otherwise).
OwnerDep = Annotated[str | None, Depends(_owner)]


def task_path(task_id: str, owner: str | None = None, verb: str = "") -> str:
    """A task's console path below PREFIX: `/tasks/<id>[/<verb>][?owner=<arn>]`."""
    path = "/tasks/" + quote(task_id, safe="") + (f"/{verb}" if verb else "")
    return path + ("?" + urlencode({"owner": owner}) if owner else "")


def get_console(request: Request) -> Console:
    """The app's Console (set by create_app), its API calls made as the principal this browser acts as (make dev)."""
    console: Console = request.app.state.console
    principal = acting_as(request, console)
    if principal is None or console.act_as is None:
        return console
    return replace(console, api=console.api.with_headers({console.act_as.header: principal}))


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


@jinja2.pass_context
def _when(context: Any, value: Any) -> Any:
    """An API time to the second, in UTC, and how far off it is: `2026-12-07 12:51:51 UTC (in 3 min)`."""
    text = moment_text(value, context["now"])
    if text is None:
        return _dash(value)
    # Markup.format escapes each value it puts in.
    return Markup('<time datetime="{}">{}</time> <span class="ago">({})</span>').format(*text)


@jinja2.pass_context
def _off(context: Any, moment: datetime) -> str:
    """How far a moment is from now: "in 3 min", "2 min ago"."""
    return relative(moment, context["now"])


_environment.filters["dash"] = _dash
_environment.filters["when_off"] = _off
_environment.filters["pretty"] = _pretty
_environment.filters["when"] = _when
_environment.filters["q"] = lambda value: quote(str(value), safe="")
_environment.globals.update(
    PREFIX=PREFIX,
    TIMINGS=TIMINGS,
    KINDS=KINDS,
    STATUSES=STATUSES,
    ENDED=ENDED,
    DELIVERED=DELIVERED,
    task_path=task_path,
)


def page(request: Request, name: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    """Render a template with what every page shows: where the console points, its notice, the CSRF token."""
    console = get_console(request)
    browser = request.state.browser
    shared = {
        "where": console.where,
        "notice": guard.shown_notice(request, console.secret, browser),
        "csrf_token": request.state.csrf_token,
        "now": console.now(),
        "act_as": console.act_as,
        "acting": acting_as(request, console),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "act_as_error": None,
    }
    return templates.TemplateResponse(request, name, {**shared, **context}, status_code=status)


def see_other(request: Request, path: str, notice: str | None = None) -> RedirectResponse:
    """303 to a console page (a relative URL: the scheme and host stay the browser's), with a notice it may show."""
    query = ("&" if "?" in path else "?") + urlencode({"notice": notice}) if notice else ""
    response = RedirectResponse(PREFIX + path + query, status_code=303)
    if notice:
        guard.set_notice(response, get_console(request).secret, request.state.browser, notice, PREFIX)
    return response


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form (parsed here: python-multipart is not a dependency); a 400 when it is not UTF-8."""
    return guard.read_form(await request.body())


FormDep = Annotated[dict[str, str], Depends(_form)]
