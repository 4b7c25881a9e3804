"""Real Spark behind Livy: a local pyspark SparkSession behind the local Livy (needs pyspark and
Java 17; CI has both), and Apache Livy's own Spark drivers (both_livys)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from jupyter_spark_broker.livy import LivyClient
from tests.helpers import eventually

pytestmark = [pytest.mark.spark, pytest.mark.both_livys, pytest.mark.timeout(900)]


async def cancel_midway(livy: LivyClient, session_id: int, statement_id: int) -> None:
    """Cancel once the statement's Spark job reports progress, and see the statement cancelled."""

    async def partly_done():
        statement = await livy.get_statement(session_id, statement_id)
        return statement.state == "running" and 0 < statement.progress < 1

    await eventually(partly_done, what="task progress from the Spark job", timeout=120)
    await livy.cancel_statement(session_id, statement_id)
    cancelled = await livy.wait_for_statement(session_id, statement_id, timeout=60)
    assert cancelled.state == "cancelled"


async def test_pyspark_session_runs_spark_and_sql(spark_livy_url, make_session, livy_backend):
    async with LivyClient(spark_livy_url) as livy:
        session = await make_session(
            livy, kind="pyspark", conf={"spark.sql.shuffle.partitions": "2"}
        )
        if livy_backend == "apache":  # difference app_info_in_local_mode
            assert session.app_id is None and session.app_info.spark_ui_url is None
        else:
            assert session.app_id and session.app_id.startswith("local-")
            assert urlparse(session.app_info.spark_ui_url).hostname in ("127.0.0.1", "localhost")

        count = await livy.run_statement(session.id, "spark.range(1000).count()", timeout=120)
        assert count.output.data == {"text/plain": "1000"}
        conf = await livy.run_statement(
            session.id, "spark.conf.get('spark.sql.shuffle.partitions')", timeout=60
        )
        assert conf.output.data == {"text/plain": "'2'"}  # the session's conf reached Spark

        sql = await livy.run_statement(
            session.id, "SELECT id, id * 2 AS twice FROM range(3)", kind="sql", timeout=120
        )
        table = sql.output.data["application/json"]
        assert [field["name"] for field in table["schema"]["fields"]] == ["id", "twice"]
        assert table["data"] == [[0, 0], [1, 2], [2, 4]]

        failing = await livy.run_statement(
            session.id, "SELECT nope FROM range(1)", kind="sql", timeout=60
        )
        assert failing.output.is_error and "nope" in failing.output.evalue
        assert failing.output.ename == "Error"  # Livy's SQL interpreter runs in the JVM
        assert failing.output.traceback[0].startswith("org.apache.spark.sql.")  # JVM frames
        assert failing.output.evalue.startswith("[UNRESOLVED_COLUMN.WITH_SUGGESTION]")
        if livy_backend == "apache":  # difference spark_35_error_texts: Spark 3.5's text
            assert "SQLSTATE" not in failing.output.evalue
        else:  # Spark 4's
            assert "SQLSTATE: 42703" in failing.output.evalue

        # pyspark's own API warnings stay out of text/plain, which clients parse (sparkmagic's
        # %%sql reads these rows); the user's own warnings are kept, after stdout, as in Livy.
        rows = await livy.run_statement(
            session.id, 'sqlContext.sql("SELECT 1 AS one").toJSON().take(1)', timeout=60
        )
        assert rows.output.data == {"text/plain": "['{\"one\":1}']"}
        warned = await livy.run_statement(
            session.id, "import warnings\nwarnings.warn('careful')\n8", timeout=60
        )
        assert warned.output.data["text/plain"].startswith("8\n")
        assert warned.output.data["text/plain"].endswith("UserWarning: careful")


async def test_spark_job_progress_and_cancel(spark_livy_url, make_session):
    async with LivyClient(spark_livy_url) as livy:
        session = await make_session(livy, kind="pyspark")
        job = await livy.create_statement(
            session.id,
            "import time\nsc.parallelize(range(40), 40).map(lambda x: time.sleep(0.5) or x).sum()",
        )

        await cancel_midway(livy, session.id, job.id)
        after = await livy.run_statement(session.id, "sc.parallelize(range(10)).sum()", timeout=120)
        assert after.output.data == {"text/plain": "45"}


async def test_spark_kind_runs_scala_as_livys_212_repl(spark_livy_url, make_session, livy_backend):
    """Kind ``spark``: Scala's REPL beside the SparkSession, its text as Livy 0.9.0's Scala 2.12
    interpreter prints it, a cell run line by line, Livy's start-up imports."""
    async with LivyClient(spark_livy_url) as livy:
        session = await make_session(livy, kind="spark")
        assert session.kind == "spark"

        async def text(code: str) -> str:
            """The output, with result numbers as resN: a line whose value is Unit (println)
            takes a number too, unshown, as in the 2.12 REPL."""
            statement = await livy.run_statement(session.id, code, timeout=180)
            assert statement.output.status == "ok", statement.output
            return re.sub(r"\bres\d+\b", "resN", statement.output.data["text/plain"])

        assert await text("1 + 2") == "resN: Int = 3\n"
        assert await text("val x = 21 * 2") == "x: Int = 42\n"
        assert await text("def twice(n: Int) = n * 2") == "twice: (n: Int)Int\n"
        # Line by line: each line's result where it ran, println between them; no compiler
        # summary warnings in the text.
        lines = (
            await text(
                'val doubled = sc.parallelize(1 to 100).map(_ * 2)\nprintln("summing")\ndoubled.sum'
            )
        ).splitlines()
        assert lines[0].startswith("doubled: org.apache.spark.rdd.RDD[Int] = MapPartitionsRDD")
        assert lines[1:] == ["summing", "resN: Double = 10100.0"]
        # Livy's start-up imports: spark.implicits._, functions._, spark.sql.
        assert await text('Seq(1, 2, 3).toDF("n").select(col("n") + lit(1)).count()') == (
            "resN: Long = 3\n"
        )
        assert await text('sql("SELECT 1").count()') == "resN: Long = 1\n"
        frame = await text(
            "case class Row(a: Int, b: String)\n"
            'Seq(Row(1, "x"), Row(2, "y")).toDF().filter($"a" > 1).count()'
        )
        assert frame == "defined class Row\nresN: Long = 1\n"

        unknown = await livy.run_statement(session.id, "val ok = 1\nabcde\nval no = 2", timeout=60)
        assert unknown.output.ename == "Error"
        # The compiler's error line; Scala 2.13 (pyspark 4) names no <console>:N position.
        assert unknown.output.evalue.endswith("error: not found: value abcde")
        if livy_backend == "apache":  # difference scala_213_positions
            assert unknown.output.evalue.startswith("<console>:")
        assert unknown.output.traceback[-1] == "       ^\n"
        mismatch = await livy.run_statement(session.id, "val s: String = 1", timeout=60)
        assert mismatch.output.evalue.endswith("error: type mismatch;")
        assert mismatch.output.traceback[:2] == [" found   : Int(1)\n", " required: String\n"]
        incomplete = await livy.run_statement(session.id, "(1 to 3", timeout=60)
        assert incomplete.output.evalue == "incomplete statement"
        thrown = await livy.run_statement(session.id, "1 / 0", timeout=60)
        assert thrown.output.evalue == "java.lang.ArithmeticException: / by zero"
        assert thrown.output.traceback[-1].endswith(" elided\n")
        assert await text("// only a comment") == ""
        candidates = await livy.complete(session.id, "spark.rea", kind="spark", cursor=9)
        if livy_backend == "apache":  # difference scala_completion
            assert candidates == ["read", "readStream"]
        else:
            assert candidates == []


async def test_scala_statements_in_a_pyspark_session_and_their_cancel(spark_livy_url, make_session):
    async with LivyClient(spark_livy_url) as livy:
        session = await make_session(livy, kind="pyspark")
        # A statement's kind picks the interpreter; Scala's starts on first use.
        scala = await livy.run_statement(
            session.id, "spark.range(7).count()", kind="spark", timeout=180
        )
        assert scala.output.data == {"text/plain": "res0: Long = 7\n"}
        job = await livy.create_statement(
            session.id,
            "sc.parallelize(1 to 40, 40).map { x => Thread.sleep(500); x }.sum",
            kind="spark",
        )

        await cancel_midway(livy, session.id, job.id)
        after = await livy.run_statement(session.id, "spark.range(3).count()", timeout=60)
        assert after.output.data == {"text/plain": "3"}
