"""`--persist PATH`: keep the local cloud's AWS state across restarts (by default it lives in memory only).

Uses moto's request recorder: every AWS call made to the endpoint is appended to PATH, and on the next
start the file is replayed against the fresh endpoint (after the template's resources are created), so
schedules, idempotency records and dead letters come back. Replayed schedules count as created at
replay time: a recurring one resumes from now (no backlog of missed runs) and one-time schedules that
already ran were deleted in the recording too. Delete PATH to start from nothing.
"""

from __future__ import annotations

from pathlib import Path

from localcloud.stats import LogSink, log_record


def persist_endpoint(url: str, path: Path, *, log: LogSink) -> None:
    """Replay `path` into the moto server at `url` (if it has content), then record every later call into it."""
    from moto.moto_api import recorder

    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    recorder.stop_recording()
    # moto reads MOTO_RECORDER_FILEPATH once, when it is imported; the file is chosen at run time here.
    recorder._location = str(path)
    if path.exists() and path.stat().st_size > 0:
        calls = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        recorder.replay_recording(target_host=url)
        log(log_record("persist", f"restored the local cloud's state from {path}", calls=calls))
    else:
        path.touch()
    recorder.start_recording()


def stop_persisting() -> None:
    """Stop recording (the file stays for the next start)."""
    from moto.moto_api import recorder

    recorder.stop_recording()
