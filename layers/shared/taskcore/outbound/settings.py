"""What the `http_request` action reads from its function's environment (template.yaml sets it for both functions)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskcore.caches import container_cache
from taskcore.outbound.allowlist import Allowlist


class OutboundSettings(BaseSettings):
    """Where the HTTP action may call and how it signs; read once per container.

    `HTTP_ACTION_ALLOWED_HOSTS` is the stack's `HttpActionAllowedHosts` parameter: comma-separated host
    names (`api.example.com`), subdomain wildcards (`*.example.com`) and IP addresses or networks
    (`10.0.0.0/8`). Empty: the action is off. `HTTP_ACTION_ALLOW_HTTP_LOOPBACK` is the local cloud's: plain
    http to a loopback address (never set on AWS, where only https is called).
    """

    model_config = SettingsConfigDict(extra="ignore", env_prefix="HTTP_ACTION_")

    allowed_hosts: str = Field(default="", description="HttpActionAllowedHosts")
    allow_http_loopback: bool = Field(default=False, description="plain http to loopback (the local cloud only)")
    signing_secret_id: str | None = Field(default=None, description="HttpSigningSecret's ARN")
    secret_max_age_seconds: int = Field(default=300, ge=0, le=86_400, description="how long a read secret is kept")
    timeout_seconds: float = Field(default=10.0, gt=0, le=900, description="one request's connect + read timeout")

    def allowlist(self) -> Allowlist:
        """`allowed_hosts`, parsed."""
        return Allowlist.parse(self.allowed_hosts)


@container_cache
def get_outbound_settings() -> OutboundSettings:
    """The settings, read once per container (`reset_container_caches()` forgets them)."""
    return OutboundSettings()


__all__ = ["OutboundSettings", "get_outbound_settings"]
