"""The broker's settings, configured as ``c.SparkBroker.<name>``: written once, here, with their help.
:class:`~.broker.SparkBroker` inherits them; its collaborators read the few they need through small
protocols of their own (``StatementSettings``, ``LifecycleSettings``, ...), live, so a changed setting
applies."""

from __future__ import annotations

from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from ..livy.names import DEFAULT_KIND, STATEMENT_KINDS


class BrokerSettings(LoggingConfigurable):
    """Every setting of the broker, with its help."""

    share_scope = Enum(
        ["notebook", "user"],
        default_value="notebook",
        config=True,
        help="notebook: each notebook path has its session; user: one per user, endpoint and kind.",
    )
    default_kind = Enum(
        list(STATEMENT_KINDS),
        default_value=DEFAULT_KIND,
        config=True,
        help="Kind of new sessions (and of code sent without one to a shared session).",
    )
    idle_timeout = Float(
        3600.0, config=True, help="Seconds a session may stay unattached before it is killed."
    )
    livy_heartbeat_timeout = Int(
        900,
        config=True,
        help="heartbeatTimeoutInSecond of new sessions: Livy deletes them if the broker stops "
        "refreshing them that long (0 = off).",
    )
    keepalive_interval = Float(60.0, config=True, help="Seconds between keep-alive rounds.")
    poll_interval = Float(
        5.0, config=True, help="Seconds between state refreshes when all is quiet."
    )
    busy_poll_interval = Float(
        0.5, config=True, help="Seconds between state refreshes while a session starts or runs."
    )
    poll_lease_period = Float(
        15.0,
        config=True,
        help="""Seconds a broker's lease of an endpoint lasts: on a registry several Jupyter servers
        share, one of them lists each endpoint's sessions and keeps them alive for all, renewing
        its lease every state refresh; when it stops, another takes over within two periods. Keep
        it above poll_interval, and above the time one refresh takes on the slowest endpoint.""",
    )
    reap_interval = Float(30.0, config=True, help="Seconds between reaper rounds.")
    statement_start_hold = Float(
        20.0,
        config=True,
        help="""Seconds a statement sent without wait= is held while its session starts (below
        common 30 s client timeouts; never more than max_statement_wait); past it, or past the
        request's own wait, 409 session_starting with Retry-After. The statement is not queued:
        the client sends it again.""",
    )
    run_timeout = Float(
        60.0,
        config=True,
        help="""Seconds a headless run's kernel (papermill, nbconvert, a scheduler) may go without
        beating before the broker counts it gone: its attachment is dropped and the run's own session
        killed at the next reaper round. Its kernel beats every quarter of this.""",
    )
    server_timeout = Float(
        120.0,
        config=True,
        help="""Seconds after which another Jupyter server sharing the registry counts as gone when
        it has not beaten (each beats every reap_interval); its kernels' attachments are then dropped.
        Keep it several times the largest reap_interval of the servers.""",
    )
    session_start_timeout = Float(
        300.0, config=True, help="Seconds a statement waits for its session to finish starting."
    )
    max_statement_wait = Float(
        300.0,
        config=True,
        help="""The longest any request is held: a long-poll (wait=S), a statement sent to a
        session still starting (the start and the long-poll together), and the wait for Livy's
        first answer about a statement. A longer wait= is cut to it. (A single call to Livy is
        bounded by SparkEndpoints.livy_connect_timeout and livy_read_timeout.)""",
    )
    max_settings_bytes = Int(
        32 * 1024,
        min=0,
        config=True,
        help="""The most bytes (as JSON) of the session settings a request may send (the API's
        settings, a %%configure): more is refused (403 settings_too_large). They are stored in the
        registry, carried by every listing, and passed on Livy's command line, where megabytes end
        the driver with "Argument list too long". 0: no limit.""",
    )
    session_defaults = Dict(
        config=True, help="Livy POST /sessions fields for every new session (after the endpoint's)."
    )
    admin_users = List(
        Unicode(), config=True, help="Users who see and kill every session ('*' for everyone)."
    )
    hub_admin_scope = Unicode(
        "custom:spark-broker:admin",
        config=True,
        help="""Under JupyterHub, holders of this scope (a custom scope: declare it in
        c.JupyterHub.custom_scopes and grant it with a role) are admins like admin_users, and so are
        the Hub's admins: in their single-user servers and in the spark-broker Hub service. The
        token the Hub gives a server or the service carries it only where the Spawner's or the
        service's oauth_client_allowed_scopes include it. Empty: the Hub's admins only.""",
    )
    impersonate = Bool(
        False,
        config=True,
        help="""Run every Spark session as its Jupyter user: Livy's proxyUser is the user's name, and
        a request naming another proxyUser is refused (403) except from admin_users. Needs Livy's
        livy.impersonation.enabled, with the broker's Livy user in livy.superusers. Turn it on for a
        server of several users: otherwise any of them can pick any proxyUser (sparkmagic#470).""",
    )
