"""sparkmagic's ``~/.sparkmagic/config.json``: each field as the broker reads it, the endpoints it adds
at start (the server's own config winning), a clear warning for a file that cannot be used, and one
real Jupyter server whose broker lists and uses the file's endpoint without showing its password."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from jupyter_spark_broker.broker.endpoints import SparkEndpoints
from jupyter_spark_broker.broker.sparkmagic_config import (
    SparkmagicConfigError,
    endpoints_from_sparkmagic,
    sparkmagic_config_path,
)

PASSWORD = "Sparkmagic-File-Pass-6612"


def write(tmp_path, config) -> object:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config) if not isinstance(config, str) else config)
    return path


def python_credentials(**fields) -> dict:
    return {"kernel_python_credentials": {"url": "http://livy.example:8998/", **fields}}


# -- the reader, field by field -----------------------------------------------------------------


def test_the_path_is_sparkmagics_own(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARKMAGIC_CONF_DIR", raising=False)
    monkeypatch.delenv("SPARKMAGIC_CONF_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert sparkmagic_config_path() == tmp_path / ".sparkmagic" / "config.json"
    monkeypatch.setenv("SPARKMAGIC_CONF_DIR", str(tmp_path / "conf"))
    monkeypatch.setenv("SPARKMAGIC_CONF_FILE", "team.json")
    assert sparkmagic_config_path() == tmp_path / "conf" / "team.json"


def test_url_without_credentials_is_auth_none(tmp_path):
    endpoints = endpoints_from_sparkmagic(write(tmp_path, python_credentials()))
    assert list(endpoints) == ["sparkmagic"]
    endpoint = endpoints["sparkmagic"]
    assert endpoint["url"] == "http://livy.example:8998"  # the trailing slash goes
    assert endpoint["auth"] == "None" and endpoint["username"] == "" and endpoint["password"] == ""
    assert endpoint["verify"] is True and endpoint["headers"] == {}
    assert endpoint["session_defaults"] == {}
    assert endpoint["description"] == f"from {tmp_path / 'config.json'}"


def test_username_and_password_mean_basic_access(tmp_path):
    config = python_credentials(username="ann", password=PASSWORD)
    endpoint = endpoints_from_sparkmagic(write(tmp_path, config))["sparkmagic"]
    assert (endpoint["auth"], endpoint["username"], endpoint["password"]) == (
        "Basic_Access",
        "ann",
        PASSWORD,
    )


def test_an_explicit_auth_is_kept(tmp_path):
    config = python_credentials(username="ann", password=PASSWORD, auth="None")
    assert endpoints_from_sparkmagic(write(tmp_path, config))["sparkmagic"]["auth"] == "None"


def test_base64_password_is_decoded_and_wins_over_password_as_in_sparkmagic(tmp_path):
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    config = python_credentials(username="ann", password="stale", base64_password=encoded)
    endpoint = endpoints_from_sparkmagic(write(tmp_path, config))["sparkmagic"]
    assert endpoint["password"] == PASSWORD and endpoint["auth"] == "Basic_Access"


def test_a_bad_base64_password_is_an_error_that_quotes_nothing(tmp_path):
    config = python_credentials(username="ann", base64_password="not base64!")
    with pytest.raises(SparkmagicConfigError) as refused:
        endpoints_from_sparkmagic(write(tmp_path, config))
    assert "base64_password is not base64 text" in str(refused.value)
    assert "not base64!" not in str(refused.value)


def test_kerberos_takes_its_options_and_the_servers_ticket(tmp_path):
    options = {"mutual_authentication": "OPTIONAL", "service": "HTTP", "delegate": True}
    config = {
        **python_credentials(auth="Kerberos", username="ignored", password="ignored"),
        "kerberos_auth_configuration": options,
    }
    endpoint = endpoints_from_sparkmagic(write(tmp_path, config))["sparkmagic"]
    assert endpoint["auth"] == "Kerberos" and endpoint["auth_options"] == options
    assert endpoint["username"] == endpoint["password"] == ""  # sparkmagic ignores them too


def test_custom_headers_and_ignore_ssl_errors(tmp_path):
    config = {
        **python_credentials(),
        "custom_headers": {"X-Team": "data", "X-Token": "t0k"},
        "ignore_ssl_errors": True,
    }
    endpoint = endpoints_from_sparkmagic(write(tmp_path, config))["sparkmagic"]
    assert endpoint["headers"] == {"X-Team": "data", "X-Token": "t0k"}
    assert endpoint["verify"] is False


def test_session_configs_merge_over_the_defaults_conf_key_by_key(tmp_path):
    config = {
        **python_credentials(),
        "session_configs_defaults": {
            "driverMemory": "1g",
            "executorCores": 2,
            "conf": {"spark.a": "default", "spark.b": "default"},
        },
        "session_configs": {"driverMemory": "2g", "conf": {"spark.b": "mine"}},
    }
    endpoint = endpoints_from_sparkmagic(write(tmp_path, config))["sparkmagic"]
    assert endpoint["session_defaults"] == {
        "driverMemory": "2g",
        "executorCores": 2,
        "conf": {"spark.a": "default", "spark.b": "mine"},
    }


def test_several_kernels_credentials_make_one_endpoint_per_livy(tmp_path):
    config = {
        "kernel_python_credentials": {"url": "http://a:8998", "username": "py", "password": "1"},
        "kernel_scala_credentials": {"url": "http://a:8998/", "username": "sc", "password": "2"},
        "kernel_r_credentials": {"url": "http://r-livy:8998", "username": "r", "password": "3"},
    }
    endpoints = endpoints_from_sparkmagic(write(tmp_path, config))
    assert sorted(endpoints) == ["sparkmagic", "sparkmagic-r"]  # Scala's Livy is Python's
    assert endpoints["sparkmagic"]["username"] == "py"
    assert endpoints["sparkmagic-r"]["url"] == "http://r-livy:8998"
    assert endpoints["sparkmagic-r"]["password"] == "3"


def test_sections_without_a_url_add_nothing(tmp_path):
    config = {"kernel_python_credentials": {"username": "", "url": ""}, "logging_config": {}}
    assert endpoints_from_sparkmagic(write(tmp_path, config)) == {}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "Expecting property name"),
        ("[1, 2]", "not a JSON object"),
        (python_credentials(auth="mymodule.MyAuth"), "custom sparkmagic authenticator"),
        ({**python_credentials(), "session_configs": [1]}, "session_configs must be a JSON object"),
        ({**python_credentials(), "custom_headers": "x"}, "custom_headers must be a JSON object"),
    ],
)
def test_an_unusable_file_says_which_file_and_what(tmp_path, content, problem):
    path = write(tmp_path, content)
    with pytest.raises(SparkmagicConfigError) as refused:
        endpoints_from_sparkmagic(path)
    assert str(path) in str(refused.value) and problem in str(refused.value)


# -- at start: the broker's endpoints ------------------------------------------------------------


@pytest.fixture
def sparkmagic_dir(tmp_path, monkeypatch):
    directory = tmp_path / "sparkmagic"
    directory.mkdir()
    monkeypatch.setenv("SPARKMAGIC_CONF_DIR", str(directory))
    monkeypatch.delenv("SPARKMAGIC_CONF_FILE", raising=False)
    return directory


def test_the_files_endpoints_join_the_configured_ones(sparkmagic_dir):
    write(sparkmagic_dir, python_credentials(username="ann", password=PASSWORD))
    endpoints = SparkEndpoints(endpoints={"prod": {"url": "http://prod:8998"}})
    assert endpoints.names() == ["local", "prod", "sparkmagic"]
    described = endpoints.describe("sparkmagic")
    assert described["source"] == "sparkmagic" and described["auth"] == "Basic_Access"
    assert PASSWORD not in json.dumps(described)
    assert endpoints.describe("prod")["source"] == "config"
    # The file's endpoint can be the default one.
    assert SparkEndpoints(default_endpoint="sparkmagic").default == "sparkmagic"


def test_a_configured_endpoint_of_the_same_name_wins(sparkmagic_dir):
    write(sparkmagic_dir, python_credentials())
    endpoints = SparkEndpoints(endpoints={"sparkmagic": {"url": "http://mine:8998"}})
    assert endpoints.settings_of("sparkmagic").url == "http://mine:8998"
    assert endpoints.describe("sparkmagic")["source"] == "config"


def test_reading_it_can_be_turned_off(sparkmagic_dir):
    write(sparkmagic_dir, python_credentials())
    assert SparkEndpoints(read_sparkmagic_config=False).names() == ["local"]


def test_no_file_no_endpoint_no_warning(sparkmagic_dir, caplog):
    caplog.set_level(logging.WARNING)
    assert SparkEndpoints().names() == ["local"]
    assert "sparkmagic" not in caplog.text


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("{", "Expecting property name"),
        (python_credentials(password=PASSWORD, username="ann", auth="x.Y"), "custom sparkmagic"),
        (
            {"kernel_python_credentials": {"url": f"http://ann:{PASSWORD}@livy:8998"}},
            "must not hold credentials",
        ),
        ({**python_credentials(password=PASSWORD), "session_configs": {"bogus": 1}}, "bogus"),
    ],
)
def test_an_unusable_file_is_a_warning_naming_it_never_a_crash_nor_the_password(
    sparkmagic_dir, caplog, config, problem
):
    path = write(sparkmagic_dir, config)
    caplog.set_level(logging.WARNING)
    endpoints = SparkEndpoints()
    assert endpoints.names() == ["local"]
    warning = caplog.text
    assert f"sparkmagic's config {path} is not used" in warning and problem in warning
    assert PASSWORD not in warning


# -- through a real Jupyter server ---------------------------------------------------------------


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("ann", PASSWORD))


@pytest.fixture
def broker_config(broker_config, sparkmagic_dir, secured_livy):
    """The file is there before the server starts, as a sparkmagic user's would be."""
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    write(
        sparkmagic_dir,
        {
            "kernel_python_credentials": {
                "url": secured_livy.url,
                "username": "ann",
                "base64_password": encoded,
                "auth": "Basic_Access",
            },
            "session_configs": {"conf": {"spark.app.tag": "from-sparkmagic"}},
        },
    )
    return broker_config


async def test_a_server_lists_the_files_endpoint_without_its_password_and_attaches_there(api):
    listed = await api.get("endpoints")
    assert listed.status == 200 and PASSWORD.encode() not in listed.body
    endpoint = {e["name"]: e for e in listed.json["endpoints"]}["sparkmagic"]
    assert endpoint["source"] == "sparkmagic" and endpoint["username"] == "ann"
    assert endpoint["session_defaults"] == {"conf": {"spark.app.tag": "from-sparkmagic"}}

    attached = await api.post("attachments", {"path": "sm.ipynb", "endpoint": "sparkmagic"})
    assert attached.status == 201, attached.json
    session = attached.json["session"]
    assert session["endpoint"] == "sparkmagic"
    assert session["settings"]["conf"]["spark.app.tag"] == "from-sparkmagic"
    statement = await api.post(
        f"sessions/{session['id']}/statements", {"code": "'through sparkmagic config'"}
    )
    done = await api.get(
        f"sessions/{session['id']}/statements/{statement.json['id']}", params={"wait": 60}
    )
    assert done.json["output"]["data"] == {"text/plain": "'through sparkmagic config'"}
