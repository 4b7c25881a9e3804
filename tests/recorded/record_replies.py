"""Record a Livy server's real replies as fixture data: ``tests/recorded/<name>.json``.

    .venv/bin/python -m tests.recorded.record_replies apache   # Apache Livy (scripts/apache-livy.sh)
    .venv/bin/python -m tests.recorded.record_replies local    # the local Livy with --spark on

Run it inside a loopback-only network namespace, as scripts/test.sh runs the tests
(``unshare --net bash -c 'ip link set lo up && ...'``). Each exchange is kept as the server sent it:
status, the headers a client reads, and the body (JSON, or text when it is not JSON). The unit tests
in ``tests/livy/test_recorded_replies.py`` read the models from these bodies; comparing the two files
is how the differences between the servers were found.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
KEPT_HEADERS = ("content-type", "location")


class Recorder:
    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=60, headers={"X-Requested-By": "recorder"})
        self.exchanges: dict[str, dict[str, Any]] = {}

    def call(self, name: str, method: str, path: str, body: Any = None) -> httpx.Response:
        kwargs = {} if body is None else {"json": body}
        reply = self.http.request(method, path, follow_redirects=False, **kwargs)
        try:
            content: Any = reply.json()
        except ValueError:
            content = reply.text
        self.exchanges[name] = {
            "request": {
                "method": method,
                "path": path,
                **({"body": body} if body is not None else {}),
            },
            "status": reply.status_code,
            "headers": {k: v for k, v in reply.headers.items() if k.lower() in KEPT_HEADERS},
            "body": content,
        }
        return reply

    def states_until(self, path: str, done: set[str], timeout: float = 300) -> list[str]:
        """Poll a state until one of ``done``; the distinct states seen, in order."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.http.get(path).json()["state"]
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in done:
                return seen
            time.sleep(0.05)
        raise TimeoutError(f"{path} stayed in {seen[-1]!r}")

    def statement(self, name: str, session: int, code: str, kind: str | None = None) -> dict:
        body = {"code": code, **({"kind": kind} if kind else {})}
        created = self.call(f"{name}.post", "POST", f"/sessions/{session}/statements", body).json()
        path = f"/sessions/{session}/statements/{created['id']}"
        states = self.states_until(path, {"available", "cancelled", "error"})
        self.exchanges[f"{name}.states"] = {"states": states}
        return self.call(name, "GET", path).json()


def record(url: str) -> dict[str, dict[str, Any]]:
    rec = Recorder(url)
    rec.call("root", "GET", "/")
    rec.call("version", "GET", "/version")
    rec.call("sessions.empty", "GET", "/sessions")
    rec.call("session.unknown", "GET", "/sessions/4242")
    rec.call("session.create.bad_kind", "POST", "/sessions", {"kind": "cobol"})
    rec.call("session.create.unknown_field", "POST", "/sessions", {"kind": "pyspark", "nope": 1})
    rec.call("session.create.numeric_name", "POST", "/sessions", {"kind": "pyspark", "name": "123"})

    created = rec.call("session.create", "POST", "/sessions", {"kind": "pyspark", "name": "rec-py"})
    py = created.json()["id"]
    rec.exchanges["session.states"] = {
        "states": rec.states_until(f"/sessions/{py}/state", {"idle", "dead", "error"})
    }
    rec.call("session.idle", "GET", f"/sessions/{py}")
    rec.call("session.by_name", "GET", "/sessions/rec-py")
    rec.call("session.state", "GET", f"/sessions/{py}/state")
    rec.call(
        "session.create.duplicate_name", "POST", "/sessions", {"kind": "pyspark", "name": "rec-py"}
    )
    rec.call("sessions.one", "GET", "/sessions")

    rec.statement("statement.ok", py, "1 + 2")
    rec.statement("statement.print_and_value", py, "print('out')\n40 + 2")
    rec.statement(
        "statement.stderr", py, "import sys\nprint('out')\nprint('err', file=sys.stderr)\n7"
    )
    rec.statement("statement.warning", py, "import warnings\nwarnings.warn('careful')\n8")
    rec.statement("statement.assignment", py, "y = 1")
    rec.statement("statement.name_error", py, "undefined_name")
    rec.statement("statement.syntax_error", py, "def broken(:")
    rec.statement("statement.zero_division", py, "1 / 0")
    rec.statement("statement.multiline_error", py, "def f():\n    raise ValueError('inside')\nf()")
    rec.statement("statement.json_magic", py, "rows = [{'a': 1, 'b': 'x'}]\n%json rows")
    rec.statement("statement.table_magic", py, "%table rows")
    rec.statement("statement.unknown_magic", py, "%nope rows")
    rec.statement("statement.spark_count", py, "spark.range(1000).count()")
    rec.statement("statement.dataframe_show", py, "spark.range(3).show()")
    rec.statement("statement.sql", py, "SELECT id, id * 2 AS twice FROM range(3)", kind="sql")
    rec.statement("statement.sql_error", py, "SELECT nope FROM range(1)", kind="sql")
    rec.call("statement.unknown", "GET", f"/sessions/{py}/statements/4242")

    sleeper = rec.call(
        "statement.sleep.post",
        "POST",
        f"/sessions/{py}/statements",
        {"code": "import time\ntime.sleep(60)"},
    ).json()
    sleeper_path = f"/sessions/{py}/statements/{sleeper['id']}"
    rec.exchanges["statement.sleep.states_before_cancel"] = {
        "states": rec.states_until(sleeper_path, {"running"})
    }
    rec.call("statement.sleep.running", "GET", sleeper_path)
    rec.call("statement.cancel", "POST", f"{sleeper_path}/cancel")
    rec.exchanges["statement.sleep.states_after_cancel"] = {
        "states": rec.states_until(sleeper_path, {"cancelled", "available"})
    }
    rec.call("statement.cancelled", "GET", sleeper_path)
    rec.call("statement.cancel.unknown", "POST", f"/sessions/{py}/statements/4242/cancel")
    rec.call("statements.list", "GET", f"/sessions/{py}/statements")
    rec.call(
        "completion.python",
        "POST",
        f"/sessions/{py}/completion",
        {"code": "import os\nos.pa", "kind": "pyspark", "cursor": 15},
    )
    rec.call("session.log", "GET", f"/sessions/{py}/log?from=0&size=5")
    rec.call("session.connect", "POST", f"/sessions/{py}/connect")

    scala = rec.call("session.create.spark", "POST", "/sessions", {"kind": "spark"}).json()["id"]
    rec.exchanges["session.spark.states"] = {
        "states": rec.states_until(f"/sessions/{scala}/state", {"idle", "dead", "error"})
    }
    rec.statement("scala.expression", scala, "1 + 2")
    rec.statement("scala.val", scala, "val x = 21 * 2")
    rec.statement(
        "scala.multiline",
        scala,
        'val doubled = sc.parallelize(1 to 100).map(_ * 2)\nprintln("summing")\ndoubled.sum',
    )
    rec.statement("scala.def", scala, "def twice(n: Int) = n * 2")
    rec.statement("scala.implicits", scala, 'Seq(1, 2, 3).toDF("n").count()')
    rec.statement(
        "scala.functions_import", scala, 'spark.range(3).select(col("id") + lit(1)).count()'
    )
    rec.statement("scala.sql_import", scala, 'sql("SELECT 1").count()')
    rec.statement("scala.not_found", scala, "abcde")
    rec.statement("scala.type_mismatch", scala, "val s: String = 1")
    rec.statement("scala.incomplete", scala, "(1 to 3")
    rec.statement("scala.exception", scala, "1 / 0")
    rec.statement("scala.error_then_more", scala, "val ok1 = 1\nabcde\nval ok2 = 2")
    rec.call(
        "completion.scala",
        "POST",
        f"/sessions/{scala}/completion",
        {"code": "spark.rea", "kind": "spark", "cursor": 9},
    )

    rec.call("session.delete", "DELETE", f"/sessions/{scala}")
    rec.call("session.delete.again", "DELETE", f"/sessions/{scala}")
    rec.call("session.deleted", "GET", f"/sessions/{scala}")
    rec.call("session.delete.py", "DELETE", f"/sessions/{py}")
    return rec.exchanges


def main(argv: list[str]) -> None:
    which = argv[0] if argv else "apache"
    if which == "apache":
        from tests.apache_livy import ApacheLivyProcess

        server: Any = ApacheLivyProcess(Path(tempfile.mkdtemp()) / "livy.log")
        out = HERE / "apache-livy-0.9.0.json"
    else:
        from jupyter_spark_broker.livy_local import LocalLivyProcess

        server = LocalLivyProcess(["--spark", "on"])
        out = HERE / "local-livy.json"
    server.start()
    try:
        exchanges = record(server.url)
    finally:
        server.stop()
    out.write_text(json.dumps(exchanges, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(exchanges)} exchanges to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
