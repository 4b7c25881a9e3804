"""Remote DataFrames brought into the kernel: the code that samples them on the Spark side, and their
local form (a pandas DataFrame when pandas is installed, an HTML and text table when it is not)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

from .errors import MissingPackage, SparkUnavailable

# sparkmagic's defaults, so its users get the rows they expect.
DEFAULT_MAXROWS = 2500
DEFAULT_FRACTION = 0.1
# Column types toJSON() renders as strings that pandas should read back as times.
_TIME_TYPES = ("date", "timestamp", "timestamp_ntz")


@dataclass(frozen=True)
class Sampling:
    """sparkmagic's -m/-n/-r: ``take`` the first ``maxrows`` rows, or ``sample`` a ``fraction``
    first; ``maxrows`` -1 brings every row."""

    method: str = "take"
    maxrows: int = DEFAULT_MAXROWS
    fraction: float = DEFAULT_FRACTION

    @classmethod
    def of(cls, method: str | None, maxrows: int | None, fraction: float | None) -> Sampling:
        sampling = cls(
            method or "take",
            DEFAULT_MAXROWS if maxrows is None else maxrows,
            DEFAULT_FRACTION if fraction is None else fraction,
        )
        if sampling.method not in ("take", "sample"):
            raise SparkUnavailable(f"-m {sampling.method!r}: the sample method is take or sample")
        if not 0.0 <= sampling.fraction <= 1.0:
            raise SparkUnavailable(f"-r {sampling.fraction}: a sample fraction is between 0 and 1")
        if sampling.maxrows < -1:
            raise SparkUnavailable(f"-n {sampling.maxrows}: give a row count, or -1 for every row")
        return sampling


def coerce_flag(value: str | None) -> bool:
    """sparkmagic's ``-c True|False`` (default True)."""
    if value is None or value.lower() in ("true", "t", "yes", "1"):
        return True
    if value.lower() in ("false", "f", "no", "0"):
        return False
    raise SparkUnavailable(f"-c {value!r}: coerce is True or False")


def fetch_code(kind: str | None, dataframe: str, sampling: Sampling) -> str:
    """Code for ``kind``'s interpreter that sends back a sample of the DataFrame expression
    ``dataframe``: its schema, then one JSON line per row (Spark's own rendering of each type)."""
    if kind == "spark":
        chain = dataframe
        if sampling.method == "sample":
            chain += f".sample(false, {sampling.fraction})"
        if sampling.maxrows >= 0:
            chain += f".limit({sampling.maxrows})"
        return (
            f"{{ val _jsb_df = {chain}; println(_jsb_df.schema.json); "
            "_jsb_df.toJSON.collect().foreach(println) }"
        )
    if kind == "sparkr":
        raise SparkUnavailable(
            "bringing a DataFrame back is not supported for R; use Python or Scala"
        )
    chain = f"({dataframe})"
    if sampling.method == "sample":
        chain += f".sample(False, {sampling.fraction})"
    if sampling.maxrows >= 0:
        chain += f".limit({sampling.maxrows})"
    return (
        f"_jsb_df = {chain}\n"
        "print(_jsb_df.schema.json())\n"
        "for _jsb_row in _jsb_df.toJSON().collect():\n"
        "    print(_jsb_row)\n"
    )


def sql_dataframe(kind: str | None, query: str) -> str:
    """The DataFrame expression of a Spark SQL query in ``kind``'s language."""
    if kind == "spark":
        return f"spark.sql({json.dumps(query, ensure_ascii=False)})"
    return f"spark.sql({query!r})"


@dataclass
class Table:
    columns: list[str]
    types: list[str]
    rows: list[dict[str, Any]]

    @classmethod
    def from_text(cls, text: str) -> Table:
        """The fetch code's output: the schema line, then one JSON object per row. Other lines
        (warnings the interpreter mixed into its output) are skipped."""
        objects = [value for line in text.splitlines() if (value := _json_object(line)) is not None]
        for index, value in enumerate(objects):
            if value.get("type") == "struct" and "fields" in value:
                return cls.from_schema(value, objects[index + 1 :])
        raise SparkUnavailable(
            "the Spark side sent no DataFrame back (is the variable a DataFrame?)"
        )

    @classmethod
    def from_schema(cls, schema: dict[str, Any], rows: list[Any]) -> Table:
        fields = schema.get("fields", [])
        columns = [field["name"] for field in fields]
        types = [field["type"] if isinstance(field["type"], str) else "complex" for field in fields]
        records = [
            row if isinstance(row, dict) else dict(zip(columns, row, strict=True)) for row in rows
        ]
        return cls(columns, types, records)

    def to_pandas(self, coerce: bool = True) -> Any:
        pandas = require_pandas("a pandas DataFrame")
        frame = pandas.DataFrame.from_records(self.rows, columns=self.columns)
        if coerce:
            for column, type_ in zip(self.columns, self.types, strict=True):
                if type_ in _TIME_TYPES:
                    frame[column] = pandas.to_datetime(frame[column], errors="coerce")
        return frame

    def display_bundle(self) -> dict[str, str]:
        """The table without pandas: HTML where the front end renders it, aligned text elsewhere."""
        cells = [[_cell(row.get(column)) for column in self.columns] for row in self.rows]
        return {"text/html": self._html(cells), "text/plain": self._text(cells)}

    def _html(self, cells: list[list[str]]) -> str:
        header = "".join(f"<th>{html.escape(column)}</th>" for column in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(value)}</td>" for value in row) + "</tr>"
            for row in cells
        )
        return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"

    def _text(self, cells: list[list[str]]) -> str:
        widths = [
            max(len(value) for value in column) for column in zip(self.columns, *cells, strict=True)
        ]

        def aligned(values: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

        count = f"({len(cells)} row{'' if len(cells) == 1 else 's'})"
        return "\n".join([aligned(self.columns), *(aligned(row) for row in cells), count])


def _json_object(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def require_pandas(what: str) -> Any:
    try:
        import pandas
    except ImportError:
        raise MissingPackage(
            f"{what} needs pandas in the kernel's environment: run `%pip install pandas` in a "
            "cell, then restart the kernel (without -o, tables show without pandas)"
        ) from None
    return pandas
