"""Where the local Livy does not do what Apache Livy 0.9.0 does: each difference named, with its
kind and reason. The tests that run on both servers assert both sides of each one (search for its
name), and the table of docs/developers/two-livys.md lists the same names and kinds
(``test_readme_lists_every_difference``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What a difference is, as README.md's table says it (the first words of its "why" column):
# deliberate: the local Livy chose it; Spark's: the Spark and Scala under each differ (pyspark 4 here,
# Spark 3.5 under Apache Livy 0.9); timing: how soon things happen, which no client may rely on;
# ours: a gap of the local Livy, to be closed.
KINDS = {"deliberate": "deliberate", "spark": "Spark's", "timing": "timing", "ours": "ours"}


@dataclass(frozen=True)
class Difference:
    kind: Literal["deliberate", "spark", "timing", "ours"]
    apache: str
    local: str
    why: str


DIFFERENCES = {
    "app_info_in_local_mode": Difference(
        kind="deliberate",
        apache="appId, sparkUiUrl and driverLogUrl are null: it learns them from YARN or Kubernetes only",
        local="appId is Spark's local-... id, sparkUiUrl the driver's UI, driverLogUrl the session log",
        why="the embedded Livy is the only Spark its users have: the broker shows these links, as it "
        "does for a cluster's Livy",
    ),
    "cancel_plain_python": Difference(
        kind="deliberate",
        apache="cancel only cancels the statement's Spark jobs: plain Python code (time.sleep) runs "
        "on, the statement stays 'cancelling' until it returns, then 'cancelled'",
        local="cancel also interrupts plain Python code (KeyboardInterrupt), so it ends at once",
        why="an interrupted cell should stop; nothing a client does depends on the code running on",
    ),
    "python_completion": Difference(
        kind="deliberate",
        apache="completion answers [] for Python, SQL and R (only Scala's interpreter completes)",
        local="Python completes (rlcompleter on the session's namespace); Scala answers []",
        why="Tab completion of the wrapper kernels on the embedded Livy; [] stays a valid answer",
    ),
    "python_stderr_in_session_log": Difference(
        kind="deliberate",
        apache="the session log is the Spark driver's output; the Python process's own stderr "
        "(sys.__stderr__) is not in it",
        local="the session log is the worker's stderr, so sys.__stderr__ lines show in it",
        why="the worker is the driver here: one process, one log",
    ),
    "interpreter_exit": Difference(
        kind="deliberate",
        apache="a statement that ends the Python process (os._exit) fails with 'Interpreter died', "
        "and the session goes to 'error' (the Spark driver lives on)",
        local="the same error, and the session goes to 'dead' (the worker is the driver)",
        why="nothing is left to run statements in either case; 'error' and 'dead' are both finished "
        "states for clients",
    ),
    "scala_213_positions": Difference(
        kind="spark",
        apache="Scala compile errors read '<console>:23: error: ...', the source line echoed in the "
        "traceback",
        local="'error: ...' without a position, the caret line only",
        why="pyspark 4 ships Scala 2.13, whose REPL reporter prints no <console> positions",
    ),
    "scala_completion": Difference(
        kind="ours",
        apache="Scala completes (spark.rea gives read, readStream)",
        local="Scala answers []",
        why="not built yet: Scala 2.13's completer is not wired to the worker",
    ),
    "no_r": Difference(
        kind="deliberate",
        apache="sparkr sessions need R on the server (there is none here, so this side is not run)",
        local="sparkr is refused with a 400 that says there is no R interpreter",
        why="no R in this project",
    ),
    "output_cap": Difference(
        kind="deliberate",
        apache="an output value over 1,000,000 characters comes back whole",
        local="cut at --max-output (default 1,000,000 characters) with a visible marker",
        why="one huge print should not make every later poll of the statement megabytes long; "
        "the cap is an option",
    ),
    "bad_kind_message": Difference(
        kind="deliberate",
        apache="a bad kind's 400 reads 'Invalid kind: nope (through reference chain: "
        "...CreateInteractiveRequest[\"kind\"])', Jackson's path to the field",
        local="'Invalid kind: nope'",
        why="no Jackson here; both start with 'Invalid kind: <kind>', the part a person reads",
    ),
    "version_build_fields": Difference(
        kind="deliberate",
        apache="/version's user, revision, branch and date describe its build",
        local="those four are empty strings; version is 0.9.0-incubating, the protocol it speaks",
        why="the local Livy is no build of Livy's source: it has no revision or branch of Livy to "
        "name",
    ),
    "create_reply_log": Difference(
        kind="deliberate",
        apache="a new session's log in the POST reply is ['stdout: ', '\\nstderr: ']",
        local="one line of its own ('livy-local: starting session N (kind K)')",
        why="the log is free text in Livy's protocol; the local line says what started",
    ),
    "statement_post_state": Difference(
        kind="timing",
        apache="the statement POST answers 'waiting', or 'running' with started set, or even "
        "'available'",
        local="the statement POST answers 'waiting'",
        why="Apache's REPL may start (and finish) the statement before it answers; a client "
        "must take any state, as the broker and kernels do",
    ),
    "spark_35_error_texts": Difference(
        kind="spark",
        apache="Spark 3.5's texts: a SQL error's evalue has no SQLSTATE; Scala's '... N elided' "
        "counts its own frames",
        local="Spark 4's texts: SQL error evalues add 'SQLSTATE: ...' (42703 for an unknown column); "
        "other wording and elided frame counts",
        why="each runs the Spark it has: pyspark 4 here, Spark 3.5 under Apache Livy 0.9",
    ),
    "session_start_time": Difference(
        kind="timing",
        apache="a pyspark session starts in 17-26 s on 2 busy cores (spark-submit of a driver "
        "JVM that calls back)",
        local="7 s on the same machine (one worker process)",
        why="tests wait for a session, or send a wait that covers a real start "
        "(SESSION_START_TIMEOUT), and never assume how long it takes",
    ),
}
