"""Calls out of the stack: the `http_request` action's rules (where it may call), signature and transport.

Nothing here is imported until the action runs or its `data` is validated: `settings.py` reads the
environment once per container, `allowlist.py` says which URLs and addresses are allowed, `signing.py`
reads the signing secret (Powertools' parameters utility, cached) and signs, `transport.py` makes one
request to an address that was checked (no redirects are followed). docs/http-actions.md says it all.
"""
