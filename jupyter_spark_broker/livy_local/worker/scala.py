"""Livy's ``spark`` kind: Scala's own REPL (``IMain``) inside the session's JVM, driven over py4j.

pyspark ships the Scala compiler and Spark's REPL jars, so the JVM that runs the local SparkSession can
also compile Scala. The interpreter is class-based (``-Yrepl-class-based``) and writes its classes to
the directory named by ``spark.repl.class.outputDir``, from which executors load them, as in
``spark-shell``. Results read as in Livy 0.9.0's Scala 2.12 interpreter: the REPL's console text,
with Scala 2.13's result lines put back in 2.12's words (``res0: Int = 3``, not ``val res0: Int = 3``),
a cell run line by line, and Livy's start-up imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# What Livy's interpreter runs after binding spark and sc (AbstractSparkInterpreter.postStart).
STARTUP_LINES = (
    "@transient val sc = spark.sparkContext",
    "import org.apache.spark.SparkContext._",
    "import spark.implicits._",
    "import spark.sql",
    "import org.apache.spark.sql.functions._",
)

# Scala 2.13 result lines, and their 2.12 wording as Livy's REPL printed them.
_RESULT_212 = [
    (re.compile(r"^(?:lazy )?va[lr] ([^\s:]+): "), r"\1: "),
    (re.compile(r"^def ([^\s(\[:]+)(.*): ([^:]+)$"), r"\1: \2\3"),
    (re.compile(r"^def ([^\s(\[:]+): "), r"\1: "),
    (re.compile(r"^(class|object|trait) (\S+)$"), r"defined \1 \2"),
    (re.compile(r"^type (\S+)$"), r"defined type alias \1"),
]
# The compiler's end-of-run summaries ("warning: 1 deprecation (since 2.13.3); for details, ...").
_SUMMARY_WARNING = re.compile(
    r"^\s*warning: (?:there (?:was|were) )?\S+ (?:deprecation|feature|unchecked|optimizer|migration)"
)
_ERROR_LINE = re.compile(r"^\s*(?:On line \d+: )?(error: .*)$")
_REPL_INDENT = " " * 7


@dataclass(frozen=True)
class ScalaResult:
    status: str  # Success | Error | Incomplete, as scala.tools.nsc.interpreter.Results
    output: str


class ScalaInterpreter:
    def __init__(self, spark: Any, class_dir: str):
        jvm = spark.sparkContext._jvm
        settings = jvm.scala.tools.nsc.Settings()
        settings.processArgumentString(f"-usejavacp -Yrepl-class-based -Yrepl-outdir {class_dir}")
        self._buffer = jvm.java.io.ByteArrayOutputStream()
        self._writer = jvm.java.io.PrintWriter(self._buffer, True)
        reporter = jvm.scala.tools.nsc.interpreter.shell.ReplReporterImpl(settings, self._writer)
        self._repl = jvm.scala.tools.nsc.interpreter.IMain(settings, reporter)
        self._capture_console(jvm)
        # @transient, as in spark-shell: a closure that captures a REPL line must not drag the
        # session along ("Task not serializable").
        modifiers = jvm.java.util.ArrayList()
        modifiers.add("@transient")
        transient = jvm.scala.jdk.javaapi.CollectionConverters.asScala(modifiers).toList()
        bound = self._repl.bind(
            "spark", "org.apache.spark.sql.SparkSession", spark._jsparkSession, transient
        )
        self._checked(bound, "bind spark")
        for line in STARTUP_LINES:
            self._checked(self.run_line(line), line)

    def _capture_console(self, jvm: Any) -> None:
        """``println`` writes to ``Console.out``, a thread-local DynamicVariable that Scala offers no
        setter for. Statements run on this py4j-pinned JVM thread, so setting it once captures all."""
        console = getattr(getattr(jvm.scala, "Console$"), "MODULE$")
        field = console.getClass().getDeclaredField("outVar")
        field.setAccessible(True)
        stream = jvm.java.io.PrintStream(self._buffer, True, "UTF-8")
        getattr(field.get(console), "value_$eq")(stream)

    def run(self, code: str) -> ScalaResult:
        """A cell, as Livy runs it: line by line, joining a line to the next while it is incomplete;
        the text of the lines that ran, or the first error (AbstractSparkInterpreter.executeLines)."""
        lines = code.strip().split("\n")
        text = ""
        pending = ""
        for index, line in enumerate(lines):
            pending = f"{pending}\n{line}" if pending else line
            result = self.run_line(pending)
            if result.status == "Error" and not result.output.strip():
                result = ScalaResult("Incomplete", "")  # Scala 2.13 on a line of only comments
            if result.status == "Incomplete":
                if index + 1 < len(lines):
                    continue
                # Only comments left, or a truly unfinished statement? Livy asks again in braces.
                if self.run_line(f"{{\n{pending}\n}}").status == "Success":
                    return ScalaResult("Success", text)
                return result
            if result.status != "Success":
                return result
            text += result.output
            pending = ""
        return ScalaResult("Success", text)

    def run_line(self, code: str) -> ScalaResult:
        self._buffer.reset()
        status = str(self._repl.interpret(code).toString())
        self._writer.flush()
        return ScalaResult(status, _as_212(str(self._buffer.toString("UTF-8"))))

    def close(self) -> None:
        self._repl.close()

    @staticmethod
    def _checked(result: Any, what: str) -> None:
        status = result.status if isinstance(result, ScalaResult) else str(result.toString())
        if status != "Success":
            raise RuntimeError(f"the Scala interpreter could not {what}: {status}")


def livy_reply(statement_id: int, result: ScalaResult) -> dict[str, Any]:
    """A statement's output as Livy's Scala interpreter gives it (livy-rest-protocol.md §5.4)."""
    if result.status == "Success":
        return {
            "status": "ok",
            "execution_count": statement_id,
            "data": {"text/plain": result.output},
        }
    traceback: list[str]
    if result.status == "Incomplete":
        evalue, traceback = "incomplete statement", []
    else:
        evalue, traceback = _parse_error(result.output)
    return {
        "status": "error",
        "execution_count": statement_id,
        "ename": "Error",
        "evalue": evalue,
        "traceback": traceback,
    }


def _as_212(output: str) -> str:
    """Scala 2.13's console text in the words of Livy's 2.12 REPL, without the compiler's summary
    warnings (clients parse text/plain)."""
    kept = []
    for line in output.splitlines(keepends=True):
        if _SUMMARY_WARNING.match(line):
            continue
        for pattern, replacement in _RESULT_212:
            line, replaced = pattern.subn(replacement, line, count=1)
            if replaced:
                break
        kept.append(line)
    return "".join(kept)


def _parse_error(output: str) -> tuple[str, list[str]]:
    """Livy's parseError: the compiler's ``error:`` line as evalue (or, for an exception, its first
    line), the other lines as traceback, each ending in a newline. Scala 2.13 prints the source line
    and the caret before the message, where 2.12 printed them after the details: they go last."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return "error", []
    at = next((i for i, line in enumerate(lines) if _ERROR_LINE.match(line)), None)
    if at is None:
        evalue, traceback = lines[0].strip(), lines[1:]
    else:
        evalue = _ERROR_LINE.match(lines[at]).group(1)  # type: ignore[union-attr]  # it matched
        details = [line.removeprefix(_REPL_INDENT) for line in lines[at + 1 :]]
        traceback = details + lines[:at]
    return evalue, [f"{line}\n" for line in traceback]
