"""http_request: call your own backend at the task's time, signed, to a host on the stack's allowlist.

The scheduler imports this module to validate `data` (the URL against the allowlist: a 422 when it is not
allowed); what the call needs (DNS, http.client, ssl, the signing secret) is imported only when it runs.
docs/http-actions.md says what each answer means and how a receiver verifies the signature.
"""

from __future__ import annotations

from typing import Any

from taskcore import HttpRequestData, TaskContext, action


@action("http_request", HttpRequestData)
def http_request(data: HttpRequestData, task: TaskContext) -> dict[str, Any]:
    """Call a URL of your backend, signed; 2xx succeeds, 408/429/5xx retry, other 4xx reject."""
    from taskcore import send_http_request

    return send_http_request(data, task)
