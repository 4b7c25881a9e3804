"""Which executor log links the broker follows: a driver runs its user's code, so its executor list
is the user's word. Only a standalone worker's log page of this session's application and of the
executor asked for is read, and only the worker's host and port are taken from it. Bad requests for
a log are JSON errors that name the problem."""

from __future__ import annotations

import pytest

from jupyter_spark_broker.broker.executor_logs import with_broker_log_links, worker_log_url

APP = "app-20261207214310-0000"
WORKER = "http://10.0.0.7:8081"


def listed(link: str, executor_id: str = "1") -> list[dict]:
    return [
        {"id": "driver", "executorLogs": {}},
        {"id": executor_id, "executorLogs": {"stderr": link}},
    ]


def page(app: str = APP, executor: str = "1", kind: str = "stderr", base: str = WORKER) -> str:
    return f"{base}/logPage/?appId={app}&executorId={executor}&logType={kind}"


def test_a_standalone_workers_log_page_is_read_as_its_raw_log_with_the_window_asked():
    url = worker_log_url(listed(page()), "1", "stderr", APP, offset=0, byteLength=4096)
    assert url == (
        f"{WORKER}/log/?appId={APP}&executorId=1&logType=stderr&offset=0&byteLength=4096"
    )


@pytest.mark.parametrize(
    "link",
    [
        page(app="app-of-someone-else"),
        page(executor="2"),
        page(kind="stdout"),
        page().replace("/logPage/", "/admin/"),
        page(base="file://"),
        page(base="gopher://10.0.0.7:8081"),
        f"{page()}&appId=app-of-someone-else",
        "not a url",
    ],
)
def test_any_other_link_is_not_followed(link):
    assert worker_log_url(listed(link), "1", "stderr", APP) is None
    assert with_broker_log_links(listed(link), "/base/", "s1", APP)[1]["executorLogs"] == {
        "stderr": link
    }


def test_no_such_executor_or_log_type_or_list():
    assert worker_log_url(listed(page()), "7", "stderr", APP) is None
    assert worker_log_url(listed(page()), "1", "../stderr", APP) is None
    assert worker_log_url({"not": "a list"}, "1", "stderr", APP) is None


def test_the_spark_uis_links_lead_to_the_broker():
    relinked = with_broker_log_links(listed(page()), "/a%40b/", "s1", APP)
    assert relinked[1]["executorLogs"] == {
        "stderr": "/a%40b/spark-broker/sessions/s1/executors/1/stderr"
    }
    assert relinked[0]["executorLogs"] == {}


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("executors/0/AAA", 400, "log_type: one of stdout, stderr"),
        ("executors/0/stdout?offset=-1", 400, "offset: a byte count"),
        ("executors/0/stderr?byteLength=10485761", 400, "byteLength: at most 10485760"),
        ("executors/0/stderr", 404, "has no Spark UI served here"),
    ],
)
async def test_bad_requests_for_an_executor_log_are_json_errors_naming_the_problem(
    api, path, status, named
):
    """Here on a session of a Livy other than the embedded one, whose executors the broker does not
    serve (the standalone cluster's are in tests/kernel/test_standalone_cluster.py)."""
    session = (await api.post("sessions", {})).json
    reply = await api.get(f"spark-broker/sessions/{session['id']}/{path}", api=False)
    assert reply.status == status and named in reply.json["message"], reply.body
    await api.delete(f"sessions/{session['id']}")
