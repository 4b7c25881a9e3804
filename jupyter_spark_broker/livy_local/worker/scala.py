"""Livy's ``spark`` kind: Scala's own REPL (``IMain``) inside the session's JVM, driven over py4j.

pyspark ships the Scala compiler and Spark's REPL jars, so the JVM that runs the local SparkSession can
also compile Scala. The interpreter is class-based (``-Yrepl-class-based``) and writes its classes to
the directory named by ``spark.repl.class.outputDir``, from which executors load them, as in
``spark-shell``. Results read as in Livy: the REPL's own console text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
        for line in ("@transient val sc = spark.sparkContext", "import spark.implicits._"):
            self._checked(self.run(line), line)

    def _capture_console(self, jvm: Any) -> None:
        """``println`` writes to ``Console.out``, a thread-local DynamicVariable that Scala offers no
        setter for. Statements run on this py4j-pinned JVM thread, so setting it once captures all."""
        console = getattr(getattr(jvm.scala, "Console$"), "MODULE$")
        field = console.getClass().getDeclaredField("outVar")
        field.setAccessible(True)
        stream = jvm.java.io.PrintStream(self._buffer, True, "UTF-8")
        getattr(field.get(console), "value_$eq")(stream)

    def run(self, code: str) -> ScalaResult:
        self._buffer.reset()
        status = str(self._repl.interpret(code).toString())
        self._writer.flush()
        return ScalaResult(status, str(self._buffer.toString("UTF-8")))

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
    if result.status == "Incomplete":
        evalue, traceback = "incomplete statement", []
    else:
        # Livy: the first line of console output, then the rest. Scala 2.13 puts the caret line
        # before the message, so lines that are only a caret are skipped.
        lines = [line for line in result.output.splitlines() if line.strip() not in ("", "^")]
        evalue, traceback = (lines[0].strip(), lines[1:]) if lines else ("error", [])
    return {
        "status": "error",
        "execution_count": statement_id,
        "ename": "Error",
        "evalue": evalue,
        "traceback": traceback,
    }
