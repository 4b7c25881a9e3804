"""What a failed Spark cell shows: one headline, the cell's own lines, nothing of our internals.

Every exception here renders itself (IPython calls ``_render_traceback_``), so a notebook never shows
a traceback through the magics, httpx or the virtual environment.
"""

from __future__ import annotations

import functools
import re
import sys
import traceback
from typing import Any

from IPython.core.error import UsageError

from .client import BrokerRefused, BrokerUnavailable
from .settings import NotConfigured

# Frames of the JVM, py4j and Spark's own Python: plumbing, hidden from the first view of an error.
_NOISE = ("py4j/", "pyspark/", "at org.apache.", "at java.", "at scala.", "at sun.", "at jdk.")
# A Python frame header: `  File "<stdin>", line 3, in <module>` (Livy's Python REPL names the cell
# `<stdin>`) or a library's `  File "/venv/lib/python3.12/site-packages/x.py", line 9, in f`.
_FRAME = re.compile(r'\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<scope>.+))?')
# A line of a Java stack inside a message: `\tat org.apache.x.Y.f(Y.scala:12)`, `\t... 31 more`.
_JVM_FRAME = re.compile(r"\s*(at [\w$.<>/]+\(.*\)|\.\.\. \d+ more)\s*$")
# A Java exception as py4j and Java's stack print it: `: java.lang.OutOfMemoryError: Java heap
# space`, `Caused by: org.apache.spark.SparkException: ...`.
_JAVA_EXCEPTION = re.compile(
    r"^(?::\s|Caused by:\s)?(?:[a-z_$][\w$]*\.)+(?P<name>[A-Z][\w$]*)(?::\s*(?P<message>.*))?$"
)
# How many lines of an error's message to show: Spark's plans and JVM stacks run to hundreds.
MESSAGE_LINES = 12
# What the notebook can do about a driver out of memory.
OUT_OF_MEMORY_HINT = (
    "The Spark driver ran out of memory. Give it more with driverMemory: "
    '%%configure -f {"driverMemory": "2g"} starts this notebook\'s session again with it '
    "(its Spark state is lost), or %spark profile NAME -f picks a profile that has more."
)


class SparkStatementError(Exception):
    """A remote statement failed. Subclassed per remote ``ename``, so the cell fails with that name."""

    def __init__(self, ename: str, evalue: str, remote_traceback: list[str], cell: str | None):
        super().__init__(evalue)
        self.ename, self.evalue, self.remote_traceback = ename, evalue, remote_traceback
        self.cell = cell

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a local traceback
        return render_remote_error(self.ename, self.evalue, self.remote_traceback, self.cell)


def render_remote_error(
    ename: str, evalue: str, remote_traceback: list[str], cell: str | None = None
) -> list[str]:
    """``ename: evalue``'s first line, a few more of the message and its root cause, the failing
    lines of the cell, a hint for a driver out of memory, then a count of what was hidden."""
    # The traceback ends with the exception again, often qualified (`pyspark...AnalysisException:
    # ...`), over several lines: that is the message, shown already, so it goes.
    repeated = re.compile(rf"^(?:[\w.]+\.)?{re.escape(ename)}(?::|$)")
    kept, hidden_frames = _traceback_lines(remote_traceback, cell)
    for index, line in enumerate(kept):
        if repeated.match(line):
            kept = kept[:index]
            break
    ename, evalue = java_exception(ename, evalue)
    first, *message = evalue.strip().splitlines() or [""]
    shown, hidden = _message_lines(message, cell)
    result = [f"{ename}: {first}".rstrip(), *shown, *kept]
    if "OutOfMemoryError" in ename or "OutOfMemoryError" in evalue:
        result.append(OUT_OF_MEMORY_HINT)
    if hidden or hidden_frames:
        result.append(
            f"({hidden + hidden_frames} lines of Spark, JVM and library frames hidden; "
            "%logs shows the driver log)"
        )
    return result


def java_exception(ename: str, evalue: str) -> tuple[str, str]:
    """A Py4JJavaError as the Java exception it carries (``OutOfMemoryError``, ``Java heap space``);
    any other error as it is. py4j's own first line (``An error occurred while calling o67.f``)
    says nothing to a notebook."""
    if ename != "Py4JJavaError":
        return ename, evalue
    lines = evalue.strip().splitlines()
    java = _JAVA_EXCEPTION.match(lines[1].strip()) if len(lines) > 1 else None
    if java is None:
        return ename, evalue
    return java["name"], "\n".join([java["message"] or "", *lines[2:]])


def _message_lines(lines: list[str], cell: str | None) -> tuple[list[str], int]:
    """The message's lines after its first, at most ``MESSAGE_LINES``: without Java stacks or the
    frames of libraries (a Python UDF's error carries its worker's traceback), and of the chain of
    Java causes only the root; and how many lines went."""
    lines, hidden = _traceback_lines(lines, cell)
    kept: list[str] = []
    root_cause: str | None = None
    for index, line in enumerate(lines):
        cause = _JAVA_EXCEPTION.match(line.strip()) if line.startswith("Caused by:") else None
        if cause:
            root_cause = f"Root cause: {cause['name']}: {cause['message'] or ''}".rstrip(": ")
            hidden += 1
        elif line.strip() == "JVM stacktrace:":  # pyspark's: the JVM's exception and stack follow
            hidden += len(lines) - index
            break
        elif _JVM_FRAME.match(line):
            hidden += 1
        else:
            kept.append(line)
    if len(kept) > MESSAGE_LINES:
        hidden += len(kept) - MESSAGE_LINES
        kept = kept[:MESSAGE_LINES]
    return kept + ([root_cause] if root_cause else []), hidden


def _traceback_lines(lines: list[str], cell: str | None) -> tuple[list[str], int]:
    """``lines`` (of a traceback, or of a message that holds one) with the cell's frames as
    ``cell line N: code`` and without the frames of Spark, the JVM and libraries; and how many of
    those there were."""
    kept: list[str] = []
    hidden = 0
    skip_source = False
    for line in "".join(
        line if line.endswith("\n") else line + "\n" for line in lines
    ).splitlines():
        frame = _FRAME.match(line)
        if frame:
            skip_source = not _is_cell(frame["file"])
            if skip_source:
                hidden += 1
            else:
                kept.append(_cell_frame(frame, cell))
            continue
        if skip_source and line.startswith("    "):  # the source line under a library frame
            continue
        skip_source = False
        if any(noise in line for noise in _NOISE):
            hidden += 1
        elif line.strip() and line != "Traceback (most recent call last):":
            kept.append(line.rstrip())
    return kept, hidden


def _is_cell(filename: str) -> bool:
    return filename.startswith("<") and filename.endswith(">")  # <stdin>, <console>, <string>


def _cell_frame(frame: re.Match, cell: str | None) -> str:
    """A frame of the cell's own code, with the cell's line quoted when it is known."""
    number = int(frame["line"])
    scope = frame["scope"]
    where = f"cell line {number}" + (f", in {scope}" if scope and scope != "<module>" else "")
    source = cell.splitlines() if cell else []
    if 0 < number <= len(source):
        return f"{where}: {source[number - 1].strip()}"
    return where


def remote_error(output: dict[str, Any], cell: str | None = None) -> SparkStatementError:
    ename, evalue = str(output.get("ename") or "SparkError"), str(output.get("evalue") or "")
    name = java_exception(ename, evalue)[0]  # the cell fails with the Java exception's name
    cls = type(name if name.isidentifier() else "SparkError", (SparkStatementError,), {})
    return cls(ename, evalue, list(output.get("traceback") or []), cell)


class SparkUnavailable(Exception):
    """The broker or the session cannot be used: one clear sentence, and what to do."""

    def _render_traceback_(self) -> list[str]:
        return [f"SparkUnavailable: {self}"]


class MissingPackage(Exception):
    """The kernel's environment lacks a package a magic needs: which one, and how to add it."""

    def _render_traceback_(self) -> list[str]:
        return [f"MissingPackage: {self}"]


class Interrupted(KeyboardInterrupt):
    """The kernel was interrupted: one line instead of a traceback through httpx. Still a
    KeyboardInterrupt, so "run all" stops and code that catches one still does."""

    message = "Interrupted."

    def _render_traceback_(self) -> list[str]:
        return [self.message]


class StatementCancelled(Interrupted):
    message = "Interrupted: Spark statement cancelled; the session stays usable."


class StartupInterrupted(Interrupted):
    message = (
        "Interrupted: Spark start-up goes on in the background; the next Spark cell waits for it."
    )


class InternalError(Exception):
    """A bug of ours: one line in the notebook, the traceback in the kernel's log."""

    def _render_traceback_(self) -> list[str]:
        return [
            f"InternalError: {self} (a bug in the Spark magics; the kernel log has the details)"
        ]


# Broker refusals meaning the session is gone: the notebook's next session replaces it.
SESSION_ENDED = ("session_finished", "session_lost")


def sentence(error: BaseException) -> str:
    """An error's message as a sentence: a full stop at its end, whatever the sender wrote."""
    text = str(error).strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def friendly(method):
    """Broker failures become one sentence; a session that ended is forgotten, so the next cell
    attaches again instead of hanging on a dead one. Nothing escapes with a traceback of ours."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except BrokerRefused as error:
            if error.reason in SESSION_ENDED:
                self.client.forget()
                raise SparkUnavailable(
                    f"{sentence(error)} The next Spark cell starts or attaches a new session."
                ) from None
            raise SparkUnavailable(f"the Spark broker refused: {sentence(error)}") from None
        except (BrokerUnavailable, NotConfigured) as error:
            raise SparkUnavailable(str(error)) from None
        except (SparkStatementError, SparkUnavailable, MissingPackage, Interrupted, UsageError):
            raise
        except KeyboardInterrupt:
            raise Interrupted() from None
        except Exception as error:
            # To the kernel's own stderr (the server's log), not to the notebook.
            traceback.print_exc(file=sys.__stderr__)
            raise InternalError(f"{type(error).__name__}: {error}") from None

    return wrapper
