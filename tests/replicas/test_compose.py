"""The self-hosting files: docker-compose.yml validates against the Compose
Specification's JSON Schema (tests/data/compose-spec.json, see its README),
and the Dockerfile, .env.example and the README's steps agree with it."""

from __future__ import annotations

import json
import pathlib
import re
import shlex

import jsonschema
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())

# Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def interpolate(text: str, env: dict[str, str]) -> str:
    """What ``docker compose`` does with the variables, failing like it."""

    def replace(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise ValueError(f"required variable {name} is missing: {arg}")
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def env_example() -> dict[str, str]:
    """The variables .env.example sets (commented-out optional ones too)."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


FILLED = {
    "POSTGRES_PASSWORD": "pw",
    "SHOPRELAY_DATABASE_URL": "postgresql://shoprelay:pw@postgres:5432/shoprelay",
    "SHOPRELAY_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
}
SECRETS = {"POSTGRES_PASSWORD", "SHOPRELAY_DATABASE_URL", "SHOPRELAY_ENCRYPTION_KEYS"}


def validate(document: dict) -> None:
    # The schema says draft-07 (as "https://json-schema.org/draft-07/schema",
    # without the "#" jsonschema looks up): use that draft explicitly.
    assert "draft-07" in SCHEMA["$schema"]
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator(SCHEMA).validate(document)


def test_schema_is_the_compose_specification():
    assert SCHEMA["title"] == "Compose Specification"
    assert "services" in SCHEMA["properties"]


def test_compose_file_validates_as_written():
    validate(yaml.safe_load(compose_text()))


@pytest.mark.parametrize("extra", [{}, {"SHOPRELAY_HTTP_PORT": "8080-8089", "SHOPRELAY_BIND": "0.0.0.0"}])
def test_compose_file_validates_once_interpolated(extra):
    validate(yaml.safe_load(interpolate(compose_text(), {**FILLED, **extra})))


def test_the_schema_rejects_a_broken_file():
    """The validation is real: a typo'd key fails it."""
    document = yaml.safe_load(compose_text())
    document["services"]["shoprelay"]["helthcheck"] = {}
    with pytest.raises(jsonschema.ValidationError):
        validate(document)


def test_no_secret_is_shipped():
    example = env_example()
    assert example["POSTGRES_PASSWORD"] == "" and example["SHOPRELAY_ENCRYPTION_KEYS"] == ""
    # The URL only refers to the password variable (compose expands it in .env).
    assert example["SHOPRELAY_DATABASE_URL"] == "postgresql://shoprelay:${POSTGRES_PASSWORD}@postgres:5432/shoprelay"
    # No keyring-shaped literal anywhere in the shipped files.
    for name in ("docker-compose.yml", ".env.example", "Dockerfile"):
        assert not re.search(r"[A-Za-z0-9_-]+:[A-Za-z0-9+/]{43}=", (ROOT / name).read_text()), name


def test_secrets_reach_only_the_container_that_needs_them_as_files(tmp_path):
    """Issue 12 item 11: the app container is not handed POSTGRES_PASSWORD
    (no env_file, no variable): each secret is a compose secret made from
    .env, mounted as a file, and read through the setting's _FILE form."""
    document = yaml.safe_load(interpolate(compose_text(), FILLED))
    sources = {name: spec["environment"] for name, spec in document["secrets"].items()}
    assert set(sources.values()) == SECRETS
    postgres, app = document["services"]["postgres"], document["services"]["shoprelay"]
    assert postgres["secrets"] == ["postgres_password"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert sorted(app["secrets"]) == ["database_url", "encryption_keys"]
    for service in (postgres, app):
        assert "env_file" not in service
        values = " ".join(str(v) for v in service["environment"].values())
        for secret in SECRETS:
            assert secret not in service["environment"]
            assert FILLED[secret] not in values
        assert "PGPASSWORD" not in service["environment"]
    # The app's settings, with each _FILE as the container would see it.
    environment = dict(app["environment"])
    for name in app["secrets"]:
        setting = next(k for k, v in environment.items() if v == f"/run/secrets/{name}")
        assert setting == f"{sources[name]}_FILE"
        path = tmp_path / name
        path.write_text(FILLED[sources[name]] + "\n")  # as docker writes it, give or take the newline
        environment[setting] = str(path)
    from proxy.config import Config

    config = Config.from_env(environment)
    assert config.database_url == FILLED["SHOPRELAY_DATABASE_URL"] and not config.is_sqlite
    assert config.encryption_keys == FILLED["SHOPRELAY_ENCRYPTION_KEYS"]
    assert config.port == 8080 and config.host == "0.0.0.0"


def test_services_as_documented():
    document = yaml.safe_load(interpolate(compose_text(), FILLED))
    services = document["services"]
    assert set(services) == {"shoprelay", "postgres"}
    postgres, app = services["postgres"], services["shoprelay"]
    # An exact PostgreSQL 16 release, not a moving tag.
    assert re.fullmatch(r"postgres:16\.\d+(-[a-z]+)?", postgres["image"]), postgres["image"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in document["volumes"]  # a named volume, not a bind mount
    assert app["build"] == "."
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    environment = app["environment"]
    # The published port reaches the port the service listens on.
    assert app["ports"] == [f"127.0.0.1:8080:{environment['SHOPRELAY_PORT']}"]


def test_every_variable_is_documented_in_env_example():
    used = set(_VARIABLE.findall(compose_text()))
    names = {name for name, _, _ in used}
    names |= {spec["environment"] for spec in yaml.safe_load(compose_text())["secrets"].values()}
    assert names <= set(env_example()), names - set(env_example())


def test_env_example_names_only_real_settings():
    readme = (ROOT / "README.md").read_text()
    compose_variables = {name for name, _, _ in _VARIABLE.findall(compose_text())}
    compose_variables |= {spec["environment"] for spec in yaml.safe_load(compose_text())["secrets"].values()}
    for name in env_example():
        assert name in compose_variables or f"`{name}`" in readme, name


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


def dockerfile_cmd() -> list[str]:
    return json.loads([rest for ins, rest in dockerfile() if ins == "CMD"][-1])


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins, rest in dockerfile():
        if ins == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def dockerfile_healthcheck() -> list[str]:
    rest = [rest for ins, rest in dockerfile() if ins == "HEALTHCHECK"][-1]
    return json.loads(rest[rest.index("CMD") + 3:].strip())


def test_dockerfile_slim_non_root_serve_with_healthcheck():
    steps = dockerfile()
    base = [rest for ins, rest in steps if ins == "FROM"]
    # An exact Python release on a named Debian release, not a moving tag.
    assert len(base) == 1 and re.fullmatch(r"python:3\.1[1-9]\.\d+-slim-[a-z]+", base[0]), base
    users = [rest for ins, rest in steps if ins == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert dockerfile_cmd() == ["shoprelay", "serve"]
    assert "/health" in " ".join(dockerfile_healthcheck())
    assert dockerfile_env()["SHOPRELAY_HOST"] == "0.0.0.0"
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".venv" in ignored and ".git" in ignored


def test_readme_self_hosting_steps_match_the_files():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Self-hosting with Docker Compose"):]
    section = section[: section.index("\n## ", 4)]
    assert "cp .env.example .env" in section
    assert "docker compose up -d" in section
    assert "docker compose exec shoprelay shoprelay quickstart" in section
    assert "--scale shoprelay=" in section
    # The service the README execs into exists, and its command is the one
    # the README says ("shoprelay" on the PATH of the image).
    document = yaml.safe_load(interpolate(compose_text(), FILLED))
    assert "shoprelay" in document["services"]
    for variable in re.findall(r"`(SHOPRELAY_[A-Z_]+|POSTGRES_[A-Z_]+)=", section):
        assert variable in env_example(), variable


def lock_file() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as {name: (version, [hashes])}."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            requirement, *options = line.split()
            name, _, version = requirement.partition("==")
            assert version, f"not pinned exactly: {requirement}"
            pins[name.lower().replace("_", "-")] = (version, [o for o in options if o.startswith("--hash=sha256:")])
    return pins


def test_the_image_installs_from_the_lock_file():
    """Issue 12 item 11: builds repeat. The Dockerfile installs the locked
    dependencies, checked by hash, then the project without resolving."""
    runs = [rest for ins, rest in dockerfile() if ins == "RUN"]
    lock_step = next(i for i, r in enumerate(runs) if "requirements.lock" in r)
    assert "--require-hashes" in runs[lock_step]
    project_step = next(i for i, r in enumerate(runs) if re.search(r"pip install --no-deps \.(\s|$)", r))
    assert lock_step < project_step
    assert not any(re.search(r"pip install (?!.*--no-deps)", r) and "requirements.lock" not in r for r in runs)
    copied = [rest for ins, rest in dockerfile() if ins == "COPY"]
    assert any(c.startswith("requirements.lock ") for c in copied)


def test_the_lock_file_pins_every_runtime_dependency_with_hashes():
    import tomllib

    from packaging.requirements import Requirement

    pins = lock_file()
    assert pins and all(hashes for _, hashes in pins.values()), [n for n, (_, h) in pins.items() if not h]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: regenerate it"
        assert requirement.specifier.contains(pins[name][0]), f"{name}: the lock is older than pyproject.toml"
    # The test tools stay out of the image.
    assert "pytest" not in pins and "playwright" not in pins
