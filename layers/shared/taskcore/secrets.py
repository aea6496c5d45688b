"""Secrets for actions: a Secrets Manager value read with Powertools' parameters utility, cached per container.

The first read in a container asks Secrets Manager; later reads within `max_age` seconds are answered from
memory, so a task costs no call, and a new value (a rotation) reaches every container within `max_age`
without a deploy. Read a secret inside the action's function, never at import: the scheduler imports every
action module to validate `data`, and has neither the permission nor the need (docs/adding-an-action.md).
"""

from __future__ import annotations

from typing import Any

from taskcore.caches import container_cache
from taskcore.clients import ClientSettings, aws_client

#: Seconds a value read is used before it is read again.
DEFAULT_MAX_AGE_SECONDS = 300


class SecretUnavailable(RuntimeError):
    """Raise when a secret cannot be read; transient (the invocation fails and Lambda retries it)."""


@container_cache
def get_secrets_provider() -> Any:
    """Powertools' Secrets Manager provider on the container's client; its cache lives as long as the container."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=aws_client("secretsmanager", ClientSettings()))


def read_secret(secret_id: str | None, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> str:
    """The secret's string value (`secret_id`: its ARN or name), read at most once per `max_age` seconds.

    Raises SecretUnavailable, naming the error's type only (never the value, the ARN or AWS's message).
    """
    if not secret_id:
        raise SecretUnavailable("no secret id is configured (set the function's environment variable)")
    try:
        value = get_secrets_provider().get(secret_id, max_age=max_age)
    except Exception as exc:  # Powertools wraps every AWS error in GetParameterError
        raise SecretUnavailable(f"the secret could not be read ({type(exc).__name__})") from None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


__all__ = ["DEFAULT_MAX_AGE_SECONDS", "SecretUnavailable", "get_secrets_provider", "read_secret"]
