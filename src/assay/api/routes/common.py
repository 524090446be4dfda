"""Helpers shared by the route modules."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from assay.api.schemas import ErrorOut
from assay.engine.service import Engine


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut} for status in statuses}


def ok(model: Any, status: int = 200, *more: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": model}, **errors(*more)}
