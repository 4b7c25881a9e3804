"""pydantic's validation errors in words: where (the field's dotted path) and what is wrong."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails


def where(problem: ErrorDetails, default: str = "") -> str:
    """The dotted path of the field a problem is about (``settings.conf``), or ``default``."""
    return ".".join(str(part) for part in problem["loc"]) or default


def what(problem: ErrorDetails) -> str:
    """The problem's message, without the "Value error, " pydantic puts before our own words."""
    return problem["msg"].removeprefix("Value error, ")


def first_problem(error: ValidationError, default: str = "") -> str:
    """``field: what is wrong`` for the first problem."""
    problem = error.errors()[0]
    return f"{where(problem, default)}: {what(problem)}"


def every_problem(error: ValidationError, default: str = "") -> str:
    """``field: what is wrong`` for every problem, joined by ``; ``."""
    return "; ".join(f"{where(p, default)}: {what(p)}" for p in error.errors())
