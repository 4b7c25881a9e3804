"""docker/ checked statically: no container engine runs here (see docker/README.md for what is and
is not exercised). The compose file is validated against the Compose Specification (compose-spec's
validator); the Dockerfiles are read for what they must do: copy only files that exist, and build
and run Apache Livy through the same scripts/apache-livy.sh that CI runs natively."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def test_compose_file_follows_the_compose_specification():
    compose_spec = pytest.importorskip("compose_spec", reason="in the test extra")
    compose = compose_spec.PyCompose.from_yaml((DOCKER / "docker-compose.yml").read_text())
    compose.validate()
    assert sorted(compose.service_names()) == ["jupyter", "livy"]
    services = compose.to_dict()["services"]
    for service in services.values():  # each build names a Dockerfile that is here
        build = service["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve().is_file()
    assert services["jupyter"]["environment"]["LIVY_URL"] == "http://livy:8998"
    assert services["jupyter"]["depends_on"]["livy"]["condition"] == "service_healthy"


def test_the_compose_validator_refuses_what_the_specification_does_not_allow():
    compose_spec = pytest.importorskip("compose_spec", reason="in the test extra")
    with pytest.raises(Exception, match="bogus"):
        compose_spec.PyCompose.from_yaml("services:\n  a:\n    image: x\n    bogus: 1\n")


@pytest.mark.parametrize("name", ["jupyter.Dockerfile", "apache-livy.Dockerfile"])
def test_dockerfiles_copy_only_what_the_repository_has(name):
    steps = instructions(DOCKER / name)
    assert steps[0][0] == "FROM"
    for keyword, arguments in steps:
        if keyword == "COPY" and not arguments.startswith("--from="):
            *sources, _target = arguments.split()
            for source in sources:
                assert (REPO / source).exists(), f"{name} copies {source}, which is not in the repo"


def test_the_livy_image_runs_the_scripts_ci_runs():
    steps = instructions(DOCKER / "apache-livy.Dockerfile")
    runs = " ".join(arguments for keyword, arguments in steps if keyword == "RUN")
    assert "scripts/apache-livy.sh prepare" in runs
    cmd = [arguments for keyword, arguments in steps if keyword == "CMD"]
    assert cmd == ['["/opt/jupyter-spark-broker/scripts/apache-livy.sh", "run", "--port", "8998"]']
    env = " ".join(arguments for keyword, arguments in steps if keyword == "ENV")
    assert "APACHE_LIVY_HOST=0.0.0.0" in env  # reachable from the jupyter container
