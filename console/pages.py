"""The console's routes: tasks, a task (live runs, pause/resume, reschedule, cancel), create, dead letters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api import ApiError, SchedulerApi
from console.forms import ActionSpec, FormErrors, action_specs, api_errors, create_body, timing_body
from console.timing import next_fire_times
from console.web import CONTROLS, STATE_OF, STATUS_OF, ConsoleDep, FormDep, page, see_other
from taskcore.expressions import ExpressionError

router = APIRouter()

_CREATE_DEFAULTS = {"timing": "delay", "delay_amount": "10", "delay_unit": "seconds", "timezone": "UTC"}


def _status(row: Mapping[str, Any]) -> str | None:
    """The ledger's status, else what today's API's state says (ENABLED: scheduled, DISABLED: paused)."""
    status = row.get("status")
    return str(status) if status else STATUS_OF.get(str(row.get("state")))


def _enriched(api: SchedulerApi, item: dict[str, Any]) -> dict[str, Any]:
    """A list item with the task's timing: read from the task itself when the list does not give it."""
    if "kind" in item or not item.get("task_id"):
        return item
    try:
        return {**item, **api.task(str(item["task_id"]))}
    except ApiError:
        return item


def _matches(row: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    """The filters applied on the page too (a no-op where the API already filtered; today's API does not)."""
    for key in ("user_id", "action"):
        if filters.get(key) and key in row and str(row[key]) != filters[key]:
            return False
    wanted = filters.get("status")
    return not wanted or _status(row) in (None, wanted)


def _list_params(filters: Mapping[str, str], cursor: str, limit: int) -> dict[str, str]:
    params = {"limit": str(limit)}
    if filters.get("q"):
        params["prefix"] = filters["q"]
    if filters.get("status") in STATE_OF:
        params["state"] = STATE_OF[filters["status"]]
    params.update({key: filters[key] for key in ("status", "user_id", "action") if filters.get(key)})
    if cursor:
        params["cursor"] = cursor
    return params


def _actions(api: SchedulerApi) -> dict[str, ActionSpec]:
    try:
        return action_specs(api.openapi())
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
) -> HTMLResponse:
    """Every task, filtered by user, status and action, searched by id, a page at a time."""
    filters = {"user_id": user_id.strip(), "status": status, "action": action, "q": q.strip()}
    context: dict[str, Any] = {
        "section": "tasks",
        "filters": filters,
        "actions": _actions(console.api),
        "paged": bool(cursor),
    }
    try:
        found = console.api.list_tasks(_list_params(filters, cursor, console.page_size))
    except ApiError as exc:
        return page(request, "tasks.html", {**context, "rows": [], "error": exc, "next_query": None}, exc.status)
    rows = [row for row in (_enriched(console.api, item) for item in found.get("items", [])) if _matches(row, filters)]
    for row in rows:
        row["status_shown"] = _status(row)
    next_cursor = found.get("cursor")
    next_query = {**{k: v for k, v in filters.items() if v}, "cursor": next_cursor} if next_cursor else None
    return page(request, "tasks.html", {**context, "rows": rows, "error": None, "next_query": next_query})


def _live(console: ConsoleDep, task_id: str, task: dict[str, Any] | None = None) -> dict[str, Any]:
    """The part of a task page that updates while it is open: its state, next run and runs."""
    live: dict[str, Any] = {"task_id": task_id, "task": task, "gone": None, "runs": None, "runs_error": None}
    if task is None:
        try:
            live["task"] = console.api.task(task_id)
        except ApiError as exc:
            live["gone"] = exc
    if live["task"] is not None:
        live["status"] = _status(live["task"])
        try:
            live["runs"] = console.api.runs(task_id)
        except ApiError as exc:
            live["runs_error"] = exc.detail
    return {**live, "poll": console.poll_seconds}


def _fires(console: ConsoleDep, task: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return {"fires": next_fire_times(task, now=console.now()), "fires_error": None}
    except (ExpressionError, ValueError) as exc:
        return {"fires": [], "fires_error": str(exc)}


def _task_page(
    request: Request,
    console: ConsoleDep,
    task_id: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        task = console.api.task(task_id)
    except ApiError as exc:
        return page(request, "gone.html", {"section": "tasks", "task_id": task_id, "error": exc}, exc.status)
    context = {
        "section": "tasks",
        "task": task,
        "live": _live(console, task_id, task),
        **_fires(console, task),
        "values": values or _reschedule_defaults(task),
        "errors": errors or FormErrors(),
    }
    return page(request, "task.html", context, status)


def _reschedule_defaults(task: Mapping[str, Any]) -> dict[str, str]:
    """The reschedule form starts from the task's own recurrence (a one-time task: a delay)."""
    expression = str(task.get("expression") or "")
    zone = str(task.get("timezone") or "UTC")
    for kind in ("cron", "rate"):
        if expression.startswith(kind + "("):
            return {"timing": kind, kind: expression, "timezone": zone}
    return {**_CREATE_DEFAULTS, "timezone": zone}


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, console: ConsoleDep, task_id: str) -> HTMLResponse:
    """One task: its request, its next five fire times, its runs (live), and what can be done to it."""
    return _task_page(request, console, task_id)


@router.get("/tasks/{task_id}/live", response_class=HTMLResponse)
def task_live(request: Request, console: ConsoleDep, task_id: str) -> HTMLResponse:
    """The live part alone, for htmx to poll."""
    return page(request, "_live.html", {"live": _live(console, task_id)})


def _switch(request: Request, console: ConsoleDep, task_id: str, verb: str) -> Response:
    error: ApiError | None = None
    try:
        console.api.pause(task_id) if verb == "pause" else console.api.resume(task_id)
    except ApiError as exc:
        error = exc
    if request.headers.get("hx-request") == "true":
        return page(request, "_live.html", {"live": {**_live(console, task_id), "action_error": error}})
    notice = f"{verb} failed: {error.detail}" if error else ("paused" if verb == "pause" else "resumed")
    return see_other(f"/tasks/{task_id}", notice)


@router.post("/tasks/{task_id}/pause")
def pause(request: Request, console: ConsoleDep, task_id: str) -> Response:
    """Pause the schedule (nothing fires until resumed)."""
    return _switch(request, console, task_id, "pause")


@router.post("/tasks/{task_id}/resume")
def resume(request: Request, console: ConsoleDep, task_id: str) -> Response:
    """Resume the schedule."""
    return _switch(request, console, task_id, "resume")


# A form shown again with the API's messages is answered 200: the page is what the browser asked for, and an
# error status on a document makes the browser log a console error for a page that works as intended.
def _refused(exc: ApiError, spec: ActionSpec | None = None) -> FormErrors:
    """The API's refusal beside the fields (a 422), or on top (anything else)."""
    if exc.status != 422:
        return FormErrors(general=[exc.detail])
    return api_errors(exc.detail, exc.errors, CONTROLS | {f.control for f in spec.fields} if spec else CONTROLS)


@router.post("/tasks/{task_id}/reschedule")
def reschedule(request: Request, console: ConsoleDep, task_id: str, values: FormDep) -> Response:
    """PATCH the task's timing (a merge patch: the new timing replaces the old)."""
    errors = FormErrors()
    patch = timing_body(values, errors)
    if not errors:
        try:
            changed = console.api.patch(task_id, patch)
        except ApiError as exc:
            errors = _refused(exc)
        else:
            return see_other(f"/tasks/{task_id}", f"rescheduled: {changed.get('expression', 'done')}")
    return _task_page(request, console, task_id, values=values, errors=errors)


@router.get("/tasks/{task_id}/cancel", response_class=HTMLResponse)
def cancel_confirm(request: Request, task_id: str) -> HTMLResponse:
    """Ask before cancelling: a cancelled task's schedule is deleted."""
    return page(request, "confirm.html", _cancel_question(task_id))


def _cancel_question(task_id: str, error: ApiError | None = None) -> dict[str, Any]:
    return {
        "section": "tasks",
        "title": f"Cancel task {task_id}?",
        "question": f"Cancel task {task_id}? Its schedule is deleted and it will not run again.",
        "post_to": f"/tasks/{task_id}/cancel",
        "fields": {},
        "confirm_label": "Yes, cancel the task",
        "back_to": f"/tasks/{task_id}",
        "back_label": "No, keep it",
        "error": error,
    }


@router.post("/tasks/{task_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, console: ConsoleDep, task_id: str) -> Response:
    """Cancel (DELETE) the task."""
    try:
        console.api.cancel(task_id)
    except ApiError as exc:
        return page(request, "confirm.html", _cancel_question(task_id, exc), exc.status)
    return see_other("/tasks", f"cancelled task {task_id}")


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
    body, errors = create_body(values, specs)
    if errors:
        return _create_page(request, console, values, errors)
    try:
        created = console.api.create(body)
    except ApiError as exc:
        return _create_page(request, console, values, _refused(exc, specs.get(values.get("action", ""))))
    return see_other(f"/tasks/{created['task_id']}", f"created task {created['task_id']}")


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
