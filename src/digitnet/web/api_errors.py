"""How the web app's errors become answers: a 4xx status and ``{"detail": "one line"}``.

:class:`ApiError` is what a route raises; :func:`add_error_handlers` turns it, a
:class:`~digitnet.errors.DigitnetError` (422) and pydantic's validation errors (422, one line
naming each field as the page and the command line name it) into JSON answers, with every
absolute path cut out (:func:`digitnet.web.security.public`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from digitnet.errors import DigitnetError
from digitnet.web.schemas import ErrorMessage
from digitnet.web.security import public

#: The error answers every route may give, for the OpenAPI schema.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorMessage} for code in (400, 403, 404, 409, 413, 415, 422)
}


class ApiError(Exception):
    """An answer with a 4xx status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_PROBLEMS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "finite_number": "must be a finite number (not NaN or infinity)",
    "missing": "is missing",
    "extra_forbidden": "is not a setting this request takes",
    "literal_error": "must be one of {expected}",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}
_VALUE_PREFIXES = ("Value error, ", "Assertion failed, ")


def _field_name(loc: Sequence[Any]) -> str:
    """Where an error is, as the page and the command line name it: ``hidden layer 2``,
    ``pixel 5``, ``lr``, ``weight.value``; empty for the request body as a whole."""
    parts = [p for p in loc if p not in ("body", "query", "path")]
    if not parts:
        return ""
    name = str(parts[0])
    if len(parts) > 1 and str(parts[1]).isdigit():
        i = int(parts[1])
        if name == "hidden":
            return f"hidden layer {i + 1}"
        if name == "pixels":
            return f"pixel {i}"
        return f"{name} item {i}"
    if len(parts) > 1:  # a field of an object in the body: weight.value
        return ".".join(str(p) for p in parts)
    return name


def _problem(err: dict[str, Any]) -> str:
    kind, ctx = str(err.get("type", "")), err.get("ctx") or {}
    msg = str(err.get("msg", "is invalid"))
    if kind in _PROBLEMS:
        shown_ctx = {
            k: f"{v:g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else v
            for k, v in ctx.items()
        }
        try:
            problem = _PROBLEMS[kind].format(**shown_ctx)
        except (KeyError, IndexError):
            problem = _PROBLEMS[kind].split(" {", 1)[0]
    else:
        for prefix in _VALUE_PREFIXES:
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        problem = msg
    value = err.get("input")
    if kind not in ("missing", "extra_forbidden") and isinstance(value, int | float | str | bool):
        shown = json.dumps(value) if not isinstance(value, float) else f"{value:g}"
        if len(shown) <= 40:
            problem += f", got {shown}"
    return problem


def _validation_message(errors: Sequence[dict[str, Any]]) -> str:
    """Pydantic's errors as one plain line naming each field as the user knows it."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return "malformed JSON: the request body is not valid JSON"
    parts = []
    for err in errors[:3]:
        where = _field_name(err.get("loc", ()))
        problem = _problem(err)
        if not where:
            where = "the request body" if err.get("type") in _PROBLEMS else ""
        parts.append(f"{where} {problem}" if where else problem)
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return public("; ".join(parts) + more)


def add_error_handlers(app: FastAPI) -> None:
    """Answer ApiError, DigitnetError and request validation errors as one-line JSON."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": public(exc.message)}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }  # fmt: skip
            for e in raw
        ]
        return JSONResponse({"detail": _validation_message(raw), "errors": errors[:20]}, 422)

    @app.exception_handler(DigitnetError)
    async def _digitnet_error(request: Request, exc: DigitnetError) -> JSONResponse:
        return JSONResponse({"detail": public(str(exc))}, 422)
