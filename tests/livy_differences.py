"""Where the local Livy does not do what Apache Livy 0.9.0 does, on purpose: each difference named,
with its reason. The tests that run on both servers assert both sides of each one (search for its
name), and the table of docs/developers/two-livys.md lists the same names
(``test_readme_lists_every_difference``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    apache: str
    local: str
    why: str


DIFFERENCES = {
    "app_info_in_local_mode": Difference(
        apache="appId, sparkUiUrl and driverLogUrl are null: it learns them from YARN or Kubernetes only",
        local="appId is Spark's local-... id, sparkUiUrl the driver's UI, driverLogUrl the session log",
        why="the embedded Livy is the only Spark its users have: the broker shows these links, as it "
        "does for a cluster's Livy",
    ),
    "cancel_plain_python": Difference(
        apache="cancel only cancels the statement's Spark jobs: plain Python code (time.sleep) runs "
        "on, the statement stays 'cancelling' until it returns, then 'cancelled'",
        local="cancel also interrupts plain Python code (KeyboardInterrupt), so it ends at once",
        why="an interrupted cell should stop; nothing a client does depends on the code running on",
    ),
    "python_completion": Difference(
        apache="completion answers [] for Python, SQL and R (only Scala's interpreter completes)",
        local="Python completes (rlcompleter on the session's namespace); Scala answers []",
        why="Tab completion of the wrapper kernels on the embedded Livy; [] stays a valid answer",
    ),
    "python_stderr_in_session_log": Difference(
        apache="the session log is the Spark driver's output; the Python process's own stderr "
        "(sys.__stderr__) is not in it",
        local="the session log is the worker's stderr, so sys.__stderr__ lines show in it",
        why="the worker is the driver here: one process, one log",
    ),
    "interpreter_exit": Difference(
        apache="a statement that ends the Python process (os._exit) fails with 'Interpreter died', "
        "and the session goes to 'error' (the Spark driver lives on)",
        local="the same error, and the session goes to 'dead' (the worker is the driver)",
        why="nothing is left to run statements in either case; 'error' and 'dead' are both finished "
        "states for clients",
    ),
    "scala_213_positions": Difference(
        apache="Scala compile errors read '<console>:23: error: ...', the source line echoed in the "
        "traceback",
        local="'error: ...' without a position, the caret line only",
        why="pyspark 4 ships Scala 2.13, whose REPL reporter prints no <console> positions",
    ),
    "scala_completion": Difference(
        apache="Scala completes (spark.rea gives read, readStream)",
        local="Scala answers []",
        why="not built yet: Scala 2.13's completer is not wired to the worker",
    ),
    "no_r": Difference(
        apache="sparkr sessions need R on the server (there is none here, so this side is not run)",
        local="sparkr is refused with a 400 that says there is no R interpreter",
        why="no R in this project",
    ),
}
