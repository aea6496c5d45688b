"""The API's routers, one per resource (the guide's routes are in scheduler_app.compat)."""
