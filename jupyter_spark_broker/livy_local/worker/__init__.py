"""One local Livy session's worker process (``main``), the server's handle on it and their protocol
(``handle``), and what runs inside it (Scala's REPL, the matplotlib backend)."""
