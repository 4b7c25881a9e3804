"""A real local pyspark SparkSession behind the local Livy (needs pyspark and Java 17; CI has both)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from jupyter_spark_broker.livy import LivyClient
from tests.helpers import eventually

pytestmark = pytest.mark.spark


async def cancel_midway(livy: LivyClient, session_id: int, statement_id: int) -> None:
    """Cancel once the statement's Spark job reports progress, and see the statement cancelled."""

    async def partly_done():
        statement = await livy.get_statement(session_id, statement_id)
        return statement.state == "running" and 0 < statement.progress < 1

    await eventually(partly_done, what="task progress from the Spark job", timeout=120)
    await livy.cancel_statement(session_id, statement_id)
    cancelled = await livy.wait_for_statement(session_id, statement_id, timeout=60)
    assert cancelled.state == "cancelled"


async def test_pyspark_session_runs_spark_and_sql(spark_livy_url, make_session):
    async with LivyClient(spark_livy_url) as livy:
        session = await make_session(
            livy, kind="pyspark", conf={"spark.sql.shuffle.partitions": "2"}
        )
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


async def test_spark_kind_runs_scala_in_the_sessions_jvm(spark_livy_url, make_session):
    """Kind ``spark``: Scala's REPL beside the SparkSession, closures shipped to executors."""
    async with LivyClient(spark_livy_url) as livy:
        session = await make_session(livy, kind="spark")
        assert session.kind == "spark"
        first = await livy.run_statement(session.id, "1 + 2", timeout=120)
        assert first.output.data == {"text/plain": "val res0: Int = 3\n"}  # the REPL's own text

        job = await livy.run_statement(
            session.id,
            'val doubled = sc.parallelize(1 to 100).map(_ * 2)\nprintln("summing")\ndoubled.sum',
            timeout=120,
        )
        text = job.output.data["text/plain"]
        assert "summing\n" in text and "= 10100.0" in text
        frame = await livy.run_statement(
            session.id,
            "case class Row(a: Int, b: String)\n"
            'Seq(Row(1, "x"), Row(2, "y")).toDF().filter($"a" > 1).count()',
            timeout=120,
        )
        assert "= 1" in frame.output.data["text/plain"]

        unknown = await livy.run_statement(session.id, "abcde", timeout=60)
        assert (unknown.output.ename, unknown.output.evalue) == (
            "Error",
            "error: not found: value abcde",
        )
        incomplete = await livy.run_statement(session.id, "(1 to 3", timeout=60)
        assert incomplete.output.evalue == "incomplete statement"
        thrown = await livy.run_statement(session.id, "1 / 0", timeout=60)
        assert thrown.output.evalue.startswith("java.lang.ArithmeticException: / by zero")


async def test_scala_statements_in_a_pyspark_session_and_their_cancel(spark_livy_url, make_session):
    async with LivyClient(spark_livy_url) as livy:
        session = await make_session(livy, kind="pyspark")
        # A statement's kind picks the interpreter; Scala's starts on first use.
        scala = await livy.run_statement(
            session.id, "spark.range(7).count()", kind="spark", timeout=180
        )
        assert scala.output.data == {"text/plain": "val res0: Long = 7\n"}
        job = await livy.create_statement(
            session.id,
            "sc.parallelize(1 to 40, 40).map { x => Thread.sleep(500); x }.sum",
            kind="spark",
        )

        await cancel_midway(livy, session.id, job.id)
        after = await livy.run_statement(session.id, "spark.range(3).count()", timeout=60)
        assert after.output.data == {"text/plain": "3"}
