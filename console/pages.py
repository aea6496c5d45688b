"""The console's routes: tasks, a task (live runs, pause/resume, reschedule, cancel), create, dead letters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api import ApiError, SchedulerApi
from console.forms import ActionSpec, FormErrors, action_specs, api_errors, create_body, timing_body, user_field
from console.listing import api_statuses, list_page, phases, status_choices, status_of
from console.timing import next_fire_times, wall_clock
from console.web import CONTROLS, ENDED, ConsoleDep, FormDep, OwnerDep, owner_to_name, page, see_other, task_path
from taskcore.expressions import ExpressionError

router = APIRouter()

_CREATE_DEFAULTS = {"timing": "delay", "delay_amount": "10", "delay_unit": "seconds", "timezone": "UTC"}


def _actions(api: SchedulerApi) -> dict[str, ActionSpec]:
    try:
        return action_specs(api.openapi())
    except ApiError:
        return {}


def _openapi(api: SchedulerApi) -> dict[str, Any]:
    try:
        return api.openapi()
    except ApiError:
        return {}


@router.get("/tasks", response_class=HTMLResponse)
def tasks(
    request: Request,
    console: ConsoleDep,
    user_id: str = "",
    status: str = "",
    action: str = "",
    q: str = "",
    cursor: str = "",
    phase: int = 0,
) -> HTMLResponse:
    """Every task, filtered by user, status and action, searched by id, a page at a time."""
    statuses = api_statuses(_openapi(console.api))
    choices = status_choices(statuses)
    choice = next((c for c in choices if c.value == status), choices[0])
    filters = {"user_id": user_id.strip(), "status": choice.value, "action": action, "q": q.strip()}
    context: dict[str, Any] = {
        "section": "tasks",
        "filters": filters,
        "choices": choices,
        "actions": _actions(console.api),
        "paged": bool(cursor or phase),
    }
    walk = phases(choice.value, filters["user_id"], statuses)
    try:
        found = list_page(
            console.api,
            filters,
            choice,
            walk,
            (max(phase, 0), cursor or None),
            console.page_size,
            lambda row: owner_to_name(request, console, row.get("owner")),
        )
    except ApiError as exc:
        return page(request, "tasks.html", {**context, "rows": [], "error": exc, "next_query": None}, exc.status)
    next_query = None
    if found.following is not None:
        following_phase, following_cursor = found.following
        next_query = {k: v for k, v in filters.items() if v}
        next_query |= {"phase": str(following_phase)} if following_phase else {}
        next_query |= {"cursor": following_cursor} if following_cursor else {}
    return page(request, "tasks.html", {**context, "rows": found.rows, "error": None, "next_query": next_query})


def _live(
    console: ConsoleDep, task_id: str, owner: str | None, task: dict[str, Any] | None = None, *, oob: bool
) -> dict[str, Any]:
    """The part of a task page that updates while it is open: its state, next run and runs, and (`oob`, for htmx)
    its next fire times and, once it has ended, the note that replaces its operations. `owner`: the task's owner
    as its URL names it (an admin's view of another owner's task), for every call and link of the page."""
    live: dict[str, Any] = {"task_id": task_id, "owner": owner, "task": task}
    live |= {"gone": None, "runs": None, "runs_error": None}
    if task is None:
        try:
            live["task"] = console.api.task(task_id, owner)
        except ApiError as exc:
            live["gone"] = exc
    live["status"] = status_of(live["task"]) if live["task"] is not None else None
    live["ended"] = live["status"] in ENDED
    if live["task"] is not None:
        try:
            live["runs"] = console.api.runs(task_id, owner)
        except ApiError as exc:
            live["runs_error"] = exc.detail
        live |= _fires(console, live["task"], ended=live["ended"])
    return {**live, "poll": console.poll_seconds, "oob": oob and live["task"] is not None}


def _fires(console: ConsoleDep, task: Mapping[str, Any], *, ended: bool) -> dict[str, Any]:
    if ended:
        return {"fires": [], "fires_error": None}
    try:
        return {"fires": next_fire_times(task, now=console.now()), "fires_error": None}
    except (ExpressionError, ValueError) as exc:
        return {"fires": [], "fires_error": str(exc)}


def _task_page(
    request: Request,
    console: ConsoleDep,
    task_id: str,
    owner: str | None,
    *,
    values: Mapping[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        task = console.api.task(task_id, owner)
    except ApiError as exc:
        return page(request, "gone.html", {"section": "tasks", "task_id": task_id, "error": exc}, exc.status)
    live = _live(console, task_id, owner, task, oob=False)
    context = {
        "section": "tasks",
        "task": task,
        "live": live,
        "values": values or _reschedule_defaults(task),
        "errors": errors or FormErrors(),
    }
    return page(request, "task.html", context, status)


def _reschedule_defaults(task: Mapping[str, Any]) -> dict[str, str]:
    """The reschedule form starts from the task's own recurrence and bounds (a one-time task: a delay)."""
    expression = str(task.get("expression") or "")
    zone = str(task.get("timezone") or "UTC")
    for kind in ("cron", "rate"):
        if expression.startswith(kind + "("):
            bounds = {bound: wall_clock(task.get(bound), zone) for bound in ("start_at", "end_at")}
            return {"timing": kind, kind: expression, "timezone": zone, **bounds}
    return {**_CREATE_DEFAULTS, "timezone": zone}


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, console: ConsoleDep, task_id: str, owner: OwnerDep) -> HTMLResponse:
    """One task (`?owner=`: an admin's view of another owner's): its request, its next five fire times, its runs
    (live), and what can be done to it."""
    return _task_page(request, console, task_id, owner)


@router.get("/tasks/{task_id}/live", response_class=HTMLResponse)
def task_live(request: Request, console: ConsoleDep, task_id: str, owner: OwnerDep) -> HTMLResponse:
    """The live part alone, for htmx to poll (with the fire times, swapped in out of band); a page of its own when
    a browser opens it."""
    if request.headers.get("hx-request") != "true":
        live = _live(console, task_id, owner, oob=False)
        return page(request, "live_page.html", {"section": "tasks", "live": live})
    return page(request, "_live.html", {"live": _live(console, task_id, owner, oob=True)})


def _switch(request: Request, console: ConsoleDep, task_id: str, owner: str | None, verb: str) -> Response:
    error: ApiError | None = None
    try:
        console.api.pause(task_id, owner) if verb == "pause" else console.api.resume(task_id, owner)
    except ApiError as exc:
        error = exc
    if request.headers.get("hx-request") == "true":
        live = _live(console, task_id, owner, oob=True)
        return page(request, "_live.html", {"live": {**live, "action_error": error}})
    notice = f"{verb} failed: {error.detail}" if error else ("paused" if verb == "pause" else "resumed")
    return see_other(request, task_path(task_id, owner), notice)


@router.post("/tasks/{task_id}/pause")
def pause(request: Request, console: ConsoleDep, task_id: str, owner: OwnerDep) -> Response:
    """Pause the schedule (nothing fires until resumed)."""
    return _switch(request, console, task_id, owner, "pause")


@router.post("/tasks/{task_id}/resume")
def resume(request: Request, console: ConsoleDep, task_id: str, owner: OwnerDep) -> Response:
    """Resume the schedule."""
    return _switch(request, console, task_id, owner, "resume")


# A form shown again with the API's messages is answered 200: the page is what the browser asked for, and an
# error status on a document makes the browser log a console error for a page that works as intended.
def _refused(exc: ApiError, spec: ActionSpec | None = None) -> FormErrors:
    """The API's refusal beside the fields (a 422), or on top (anything else)."""
    if exc.status != 422:
        return FormErrors(general=[exc.detail])
    return api_errors(exc.detail, exc.errors, CONTROLS | {f.control for f in spec.fields} if spec else CONTROLS)


@router.post("/tasks/{task_id}/reschedule")
def reschedule(request: Request, console: ConsoleDep, task_id: str, owner: OwnerDep, values: FormDep) -> Response:
    """PATCH the task's timing (a merge patch: the new timing replaces the old)."""
    errors = FormErrors()
    patch = timing_body(values, errors, clear_blank_bounds=True)
    if not errors:
        try:
            changed = console.api.patch(task_id, patch, owner)
        except ApiError as exc:
            errors = _refused(exc)
        else:
            return see_other(request, task_path(task_id, owner), f"rescheduled: {changed.get('expression', 'done')}")
    return _task_page(request, console, task_id, owner, values=values, errors=errors)


@router.get("/tasks/{task_id}/cancel", response_class=HTMLResponse)
def cancel_confirm(request: Request, task_id: str, owner: OwnerDep) -> HTMLResponse:
    """Ask before cancelling: a cancelled task's schedule is deleted."""
    return page(request, "confirm.html", _cancel_question(task_id, owner))


def _cancel_question(task_id: str, owner: str | None, error: ApiError | None = None) -> dict[str, Any]:
    of = f" of {owner}" if owner else ""
    return {
        "section": "tasks",
        "title": f"Cancel task {task_id}?",
        "question": f"Cancel task {task_id}{of}? Its schedule is deleted and it will not run again.",
        "post_to": task_path(task_id, owner, "cancel"),
        "fields": {},
        "confirm_label": "Yes, cancel the task",
        "back_to": task_path(task_id, owner),
        "back_label": "No, keep it",
        "error": error,
    }


@router.post("/tasks/{task_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, console: ConsoleDep, task_id: str, owner: OwnerDep) -> Response:
    """Cancel (DELETE) the task."""
    try:
        console.api.cancel(task_id, owner)
    except ApiError as exc:
        return page(request, "confirm.html", _cancel_question(task_id, owner, exc), exc.status)
    return see_other(request, "/tasks", f"cancelled task {task_id}" + (f" of {owner}" if owner else ""))


def _create_page(
    request: Request,
    console: ConsoleDep,
    values: Mapping[str, str],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    specs = _actions(console.api)
    chosen = values.get("action") if values.get("action") in specs else next(iter(specs), "")
    context = {
        "section": "create",
        "specs": specs,
        "spec": specs.get(chosen or ""),
        "user": user_field(_openapi(console.api)),
        "values": {**values, "action": chosen},
        "errors": errors or FormErrors(),
    }
    return page(request, "create.html", context, status)


@router.get("/create", response_class=HTMLResponse)
def create_form(request: Request, console: ConsoleDep, action: str = "") -> HTMLResponse:
    """A form for every timing kind, with the chosen action's data fields (from the API's OpenAPI document)."""
    return _create_page(request, console, {**_CREATE_DEFAULTS, "action": action})


@router.get("/create/fields", response_class=HTMLResponse)
def create_fields(request: Request, console: ConsoleDep, action: str = "") -> HTMLResponse:
    """The data fields of one action (htmx swaps them in when the action changes)."""
    spec = _actions(console.api).get(action)
    return page(request, "_data_fields.html", {"spec": spec, "values": {}, "errors": FormErrors()})


@router.post("/create", response_class=HTMLResponse)
def create(request: Request, console: ConsoleDep, values: FormDep) -> Response:
    """Create the task; the API's 422 messages are shown beside the fields they are about."""
    specs = _actions(console.api)
    body, errors = create_body(values, specs, user_field(_openapi(console.api)))
    if errors:
        return _create_page(request, console, values, errors)
    try:
        created = console.api.create(body)
    except ApiError as exc:
        return _create_page(request, console, values, _refused(exc, specs.get(values.get("action", ""))))
    return see_other(request, task_path(str(created["task_id"])), f"created task {created['task_id']}")


_AWS_ERRORS = (BotoCoreError, ClientError)


@router.get("/dead-letters", response_class=HTMLResponse)
def dead_letters(request: Request, console: ConsoleDep) -> HTMLResponse:
    """Both dead-letter queues and the rejected tasks, each letter with its error and task."""
    return _letters_page(request, console, [])


def _letters_page(request: Request, console: ConsoleDep, results: list[str], status: int = 200) -> HTMLResponse:
    desk = console.dead_letters
    context: dict[str, Any] = {"section": "dead-letters", "desk": desk, "letters": [], "results": results}
    if desk is not None:
        try:
            context["letters"] = desk.letters()
        except _AWS_ERRORS as exc:
            context["error"] = f"cannot read the queues: {exc}"
    return page(request, "dead_letters.html", {"error": None, **context}, status)


@router.get("/dead-letters/confirm", response_class=HTMLResponse)
def dead_letters_confirm(request: Request, op: str, kind: str = "", message_id: str = "") -> HTMLResponse:
    """Ask before a replay or a discard, of one letter or of all."""
    verb = "Replay" if op == "replay" else "Discard"
    which = f"the letter of {kind} message {message_id}" if message_id else "every dead letter"
    consequence = (
        "Each is run through the callback again and deleted only if that succeeds."
        if op == "replay"
        else "They are deleted without running; the tasks will not run."
    )
    return page(
        request,
        "confirm.html",
        {
            "section": "dead-letters",
            "title": f"{verb} {which}?",
            "question": f"{verb} {which}? {consequence}",
            "post_to": "/dead-letters/replay" if op == "replay" else "/dead-letters/discard",
            "fields": {"kind": kind, "message_id": message_id} if message_id else {},
            "confirm_label": f"Yes, {verb.lower()}",
            "back_to": "/dead-letters",
            "back_label": "No, go back",
            "error": None,
        },
    )


@router.post("/dead-letters/{op}", response_class=HTMLResponse)
def dead_letters_change(request: Request, console: ConsoleDep, op: str, values: FormDep) -> HTMLResponse:
    """Replay or discard one letter (kind and message_id given) or all."""
    desk = console.dead_letters
    if desk is None or op not in ("replay", "discard"):
        return _letters_page(request, console, [f"cannot {op} here"], 404)
    message_id = values.get("message_id") or None
    kind = values.get("kind") or None
    try:
        if op == "replay":
            results = [outcome.describe() for outcome in desk.replay(kind, message_id)]
        else:
            results = [f"discarded {desk.discard(kind, message_id)} letter(s)"]
    except _AWS_ERRORS as exc:
        results = [f"{op} failed: {exc}"]
    return _letters_page(request, console, results or ["no such letter (already replayed or discarded?)"])
