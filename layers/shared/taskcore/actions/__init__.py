"""Actions, one module each. Every module here is imported on first use of the registry.

Add an action: copy `send_notification.py`, change the model and the function, done.
See docs/adding-an-action.md.
"""
