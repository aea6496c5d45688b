"""moto's server on loopback as the AWS endpoint: real boto3 calls over HTTP, nothing leaves the machine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from localcloud.template import LOCAL_REGION, LocalResources, Resolver, load_template, provision

#: moto accepts any credentials; these dummies keep boto3 from looking for real ones.
MOTO_DUMMY_CREDENTIAL = "testing"
LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": MOTO_DUMMY_CREDENTIAL,
    "AWS_SECRET_ACCESS_KEY": MOTO_DUMMY_CREDENTIAL,
    "AWS_SESSION_TOKEN": MOTO_DUMMY_CREDENTIAL,
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
}


#: Where the http_request action may call on the local cloud unless HTTP_ACTION_ALLOWED_HOSTS says otherwise:
#: receivers on this machine (docs/http-actions.md, "Locally").
LOCAL_HTTP_ACTION_HOSTS = "127.0.0.1,::1,localhost"


def http_action_environment(arns: dict[str, str]) -> dict[str, str]:
    """The http_request action's settings on the local cloud: loopback receivers over plain http, the local secret."""
    env = {
        "HTTP_ACTION_ALLOWED_HOSTS": os.environ.get("HTTP_ACTION_ALLOWED_HOSTS") or LOCAL_HTTP_ACTION_HOSTS,
        # Only the local cloud sets it: on AWS the action calls https only.
        "HTTP_ACTION_ALLOW_HTTP_LOOPBACK": "true",
    }
    if "HttpSigningSecret" in arns:
        env["HTTP_ACTION_SIGNING_SECRET_ID"] = arns["HttpSigningSecret"]
    return env


def signing_secret(environment: dict[str, str]) -> str | None:
    """The local HttpSigningSecret's value (what `make dev` prints for receivers), or None without one."""
    import boto3

    secret_id = environment.get("HTTP_ACTION_SIGNING_SECRET_ID")
    if not secret_id:
        return None
    client = boto3.client("secretsmanager", endpoint_url=environment.get("AWS_ENDPOINT_URL"))
    return str(client.get_secret_value(SecretId=secret_id)["SecretString"])


def powertools_environment() -> dict[str, str]:
    """POWERTOOLS_* as template.yaml's Globals set them, with the parameters at their defaults."""
    template = load_template()
    resolver = Resolver(template)
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {k: str(resolver.resolve(v)) for k, v in variables.items() if k.startswith("POWERTOOLS_")}


@dataclass(frozen=True)
class LocalEndpoint:
    """A running moto server and what was provisioned on it."""

    url: str
    resources: LocalResources

    def environment(self) -> dict[str, str]:
        """The variables that point boto3 (and so Powertools) at this endpoint, plus the functions' settings."""
        names, arns = self.resources.names, self.resources.arns
        env = {**LOCAL_ENV, "AWS_ENDPOINT_URL": self.url, **powertools_environment()}
        if "IdempotencyTable" in names:
            env["IDEMPOTENCY_TABLE_NAME"] = names["IdempotencyTable"]
        if "TaskLedgerTable" in names:
            env["TASK_LEDGER_TABLE"] = names["TaskLedgerTable"]
        if "ScheduleGroup" in names:
            env["SCHEDULE_GROUP_NAME"] = names["ScheduleGroup"]
        if "RejectedTaskQueue" in self.resources.queue_urls:
            env["REJECTED_TASK_QUEUE_URL"] = self.resources.queue_urls["RejectedTaskQueue"]
        for var, logical_id in (
            ("CALLBACK_FUNCTION_ARN", "CallbackFunction"),
            ("SCHEDULER_ROLE_ARN", "SchedulerInvokeRole"),
            ("SCHEDULER_DLQ_ARN", "ScheduleDeliveryInbox"),
            ("CURSOR_SECRET_ID", "CursorKeySecret"),
        ):
            if logical_id in arns:
                env[var] = arns[logical_id]
        return env | http_action_environment(arns)


@contextmanager
def moto_endpoint(host: str = "127.0.0.1", port: int = 0) -> Iterator[LocalEndpoint]:
    """Start moto's server (port 0: a free one), create the template's resources, stop it on exit."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from localcloud import dynamo_throughput, moto_expressions, moto_journal, moto_transactions

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per AWS call
    moto_transactions.install()  # transactions in O(items named), safe beside concurrent writes
    moto_expressions.install()  # UpdateExpressions parsed once and validated in linear time
    dynamo_throughput.install()  # per-partition-key throughput (no limits until the adverse mode sets them)
    moto_journal.install()  # --persist's journal of moto's changes (nothing journaled without one)

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    url = ""
    try:
        bound_host, bound_port = server.get_host_and_port()
        url = f"http://{bound_host}:{bound_port}"
        # moto's backends are process-wide: start from nothing, whatever an earlier server left.
        _reset(url)
        session = boto3.Session(
            aws_access_key_id=LOCAL_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=LOCAL_REGION,
        )
        yield LocalEndpoint(url=url, resources=provision(session, endpoint_url=url))
    finally:
        if url:
            _reset(url)
        server.stop()


def _reset(url: str) -> None:
    """Empty every moto backend (moto's own admin API)."""
    from urllib.request import Request, urlopen

    # The URL is the http://127.0.0.1 one built above, never user input.
    with urlopen(Request(f"{url}/moto-api/reset", method="POST"), timeout=10):  # noqa: S310  # nosec B310
        pass


@contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
