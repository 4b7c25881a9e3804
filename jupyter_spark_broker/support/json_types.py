"""Names for JSON values, which the type checker cannot know more about.

A JSON value here is arbitrary by nature: a statement's output from Livy, a user's Spark ``conf`` or
``settings``, a sealed endpoint configuration, an event's data. ``JSON`` is ``Any`` rather than a
recursive union of ``dict``, ``list``, ``str``... : code reads these values by key after checking their
shape itself (pydantic, or ``isinstance``), and a union would make every such read an ``isinstance``
chain. The alias says where ``Any`` means "JSON" and not "not typed yet".
"""

from __future__ import annotations

from typing import Any, TypeAlias

JSON: TypeAlias = Any
JSONObject: TypeAlias = dict[str, JSON]
