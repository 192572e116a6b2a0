"""Access to the objects the app factory builds once per process."""

from __future__ import annotations

from flask import current_app

from engine import Engine


def get_engine() -> Engine:
    return current_app.extensions["questboard.engine"]
