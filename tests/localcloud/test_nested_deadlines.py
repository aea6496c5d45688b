"""An action's own alarm (callback_app.deadline: SIGALRM on the main thread) inside the local cloud's in-process
Timeout (localcloud.deadline: SIGALRM too) leaves the outer deadline armed: there is one interval timer a process."""

from __future__ import annotations

import time

from callback_app.deadline import Deadline
from localcloud.deadline import call_with_deadline


def test_an_actions_own_alarm_inside_the_local_clouds_timeout_leaves_that_timeout_armed() -> None:
    def invocation() -> str:
        Deadline(5.0).run(lambda: None)  # the action's alarm, armed and disarmed within the invocation
        time.sleep(2)  # the rest of the invocation outlives the function's Timeout
        return "done"

    started = time.monotonic()
    result, timed_out = call_with_deadline(invocation, 0.3)

    assert (result, timed_out) == (None, True)
    assert time.monotonic() - started < 1.5


def test_an_action_whose_own_deadline_is_later_than_the_functions_is_stopped_at_the_functions() -> None:
    started = time.monotonic()
    result, timed_out = call_with_deadline(lambda: Deadline(5.0).run(lambda: time.sleep(2)), 0.3)

    assert (result, timed_out) == (None, True)
    assert time.monotonic() - started < 1.5
