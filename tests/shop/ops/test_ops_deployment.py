"""The Dockerfile and compose.yaml run the commands the README documents.

No container engine runs on the development machines, so the files are read, not built:
the README's deployment block is the source, and each role's command in the image and in
compose must be exactly it.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]


def readme_commands() -> dict[str, list[str]]:
    """role -> argv, from the first bash block of the README's Deployment section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no bash block in the README's Deployment section"
    commands = {}
    for line in block.group(1).splitlines():
        command, _, comment = line.partition("#")
        role = comment.strip().split(":", 1)[0]
        commands[role] = shlex.split(command)
    return commands


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", "\n".join(x for x in text.splitlines() if not x.startswith("#")))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip()
    ]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_the_readme_documents_the_four_roles() -> None:
    assert set(readme_commands()) == {"install", "migrate", "web", "scheduler"}


def test_the_image_installs_the_readme_way_runs_as_non_root_and_checks_its_health() -> None:
    commands = readme_commands()
    steps = dockerfile()
    install = " ".join(commands["install"])
    # The same install as the README's "Two commands" (there with the venv's pip).
    assert f"/bin/{install}" in (ROOT / "README.md").read_text().split("## Architecture")[0]
    runs = [args for instruction, args in steps if instruction == "RUN"]
    assert any(install in args.split("&&")[-1].strip() for args in runs), runs
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users and users[-1] not in {"root", "0"}
    healthchecks = [args for instruction, args in steps if instruction == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0]
    cmd = [args for instruction, args in steps if instruction == "CMD"]
    assert json.loads(cmd[-1]) == commands["web"]
    copied = " ".join(args for instruction, args in steps if instruction == "COPY")
    assert "gunicorn.conf.py" in copied and "migrations" in copied


def test_compose_runs_each_role_with_the_readme_command_and_checks_every_service() -> None:
    commands = readme_commands()
    services = compose()["services"]
    assert services["migrate"]["command"] == commands["migrate"]
    assert services["web"]["command"] == commands["web"]
    assert services["scheduler"]["command"] == commands["scheduler"]
    assert {"postgres", "nats", "migrate", "web", "scheduler"} <= set(services)
    for name in ("postgres", "nats", "web", "scheduler"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    # The one-shot migration is checked by its exit status, and the app waits for it.
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["scheduler"]["depends_on"]["nats"]["condition"] == "service_healthy"
    # NATS with JetStream, and the app told to use it.
    assert "-js" in services["nats"]["command"]
    environment = services["scheduler"]["environment"]
    assert environment["GAOGAN_BROKER"] == "nats"
    assert environment["GAOGAN_ENV"] == "production"
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    # gunicorn's graceful_timeout must fit in the stop grace period.
    config = (ROOT / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r"^graceful_timeout = (\d+)", config, re.M).group(1))  # type: ignore[union-attr]
    assert int(services["web"]["stop_grace_period"].rstrip("s")) > graceful


def test_every_setting_compose_passes_is_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    services = compose()["services"]
    names = set(services["web"]["environment"]) | set(services["scheduler"]["environment"])
    missing = sorted(n for n in names if f"`{n}`" not in table)
    assert not missing, missing
