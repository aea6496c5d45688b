"""Files the local cloud serves itself under `/_localcloud/`: Swagger UI for the scheduler's `/docs`, offline.

FastAPI's Swagger UI loads its JavaScript and CSS from a CDN; `make dev` must work without internet. The files
are vendored from npm in localcloud/static/swagger-ui (see its VERSION.md), served at `SWAGGER_UI_PATH`, and the
scheduler's docs page is pointed at them (`API_DOCS_ASSETS_URL`, scheduler_app/apidocs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SWAGGER_UI_DIR = Path(__file__).parent / "static" / "swagger-ui"
#: Where the local cloud serves them (an absolute path: the docs page is on the same host and port).
SWAGGER_UI_PATH = "/_localcloud/swagger-ui"
#: By suffix, not from the machine's mime.types (which differ between machines); anything else is served as bytes.
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".md": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass
class StaticFiles:
    """The regular files directly in `directory`, served under `prefix`; nothing else (no subpaths, no `..`)."""

    prefix: str
    directory: Path
    _names: frozenset[str] | None = field(default=None, init=False, repr=False)

    def find(self, path: str) -> tuple[str, bytes] | None:
        """The content type and bytes of the file `path` names, or None when it names none of them."""
        base = self.prefix.rstrip("/") + "/"
        if not path.startswith(base):
            return None
        if self._names is None:
            self._names = frozenset(p.name for p in self.directory.iterdir() if p.is_file())
        name = path.removeprefix(base)
        if name not in self._names:
            return None
        content_type = CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
        return content_type, (self.directory / name).read_bytes()


def swagger_ui() -> StaticFiles:
    """Swagger UI's files at `SWAGGER_UI_PATH`."""
    return StaticFiles(SWAGGER_UI_PATH, SWAGGER_UI_DIR)
