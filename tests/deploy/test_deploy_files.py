"""deploy/ without containers: every file parses, names only real settings, CLI commands and
metrics, and the alert rules are the SRE workbook's multi-window, multi-burn-rate alerts.

The container engine, promtool and nginx are not available here; what they would check
first (syntax, names) is checked in Python, and the entrypoint runs for real.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import httpx
import typer
import yaml
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import Factory

from astroshield.cli import app as cli
from astroshield.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent

YAML_FILES = [
    DEPLOY / "compose.yaml",
    DEPLOY / "prometheus" / "prometheus.yml",
    DEPLOY / "prometheus" / "rules.yml",
    DEPLOY / "otel" / "collector.yaml",
]
DASHBOARD = DEPLOY / "grafana" / "astroshield.json"
SYSTEMD = sorted((DEPLOY / "systemd").iterdir())
TEXT_FILES = [DEPLOY / "Dockerfile", DEPLOY / "entrypoint.sh", *YAML_FILES, *SYSTEMD]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rules() -> dict[str, list[dict[str, Any]]]:
    return {group["name"]: group["rules"] for group in _yaml(YAML_FILES[2])["groups"]}


def test_every_file_parses() -> None:
    for path in YAML_FILES:
        assert isinstance(_yaml(path), dict), path
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["panels"] and all(panel["targets"] for panel in dashboard["panels"])
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for path in SYSTEMD:
        sections = re.findall(r"^\[(\w+)\]$", path.read_text(encoding="utf-8"), re.M)
        assert sections and set(sections) <= {"Unit", "Service", "Timer", "Install"}, path


def test_every_astroshield_variable_is_a_real_setting() -> None:
    settings = {f"ASTROSHIELD_{name.upper()}" for name in Settings.model_fields}
    used: dict[str, set[str]] = {}
    for path in TEXT_FILES:
        for name in re.findall(r"ASTROSHIELD_[A-Z0-9_]+", path.read_text(encoding="utf-8")):
            used.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    assert len(used) >= 10  # the scan found the files' settings
    unknown = {name: files for name, files in used.items() if name not in settings}
    assert unknown == {}, "not settings (see docs/configuration.md)"


def test_compose_values_are_valid_settings() -> None:
    """The replicas' environment, applied to the Settings model, is accepted as it stands
    (secret values come from secrets/app.env, stood in for here)."""
    environment = dict(_yaml(YAML_FILES[0])["x-app"]["environment"])
    stand_ins = {"ASTROSHIELD_SECRET_KEY": "x" * 40, "ASTROSHIELD_METRICS_TOKEN": "t" * 32}
    values = {
        key.removeprefix("ASTROSHIELD_").lower(): json.loads(value) if value[:1] == "[" else value
        for key, value in {**environment, **stand_ins}.items()
    }
    settings = Settings.model_validate(values)
    assert settings.profile == "prod" and settings.trusted_proxies == ["172.28.0.0/16"]
    assert settings.metrics_address == "0.0.0.0:9100" and not settings.migrate_on_start


# ------------------------------------------------------------------ CLI commands


def _astroshield_commands() -> list[tuple[str, list[str]]]:
    """(file, words after "astroshield") for every command line the deploy files run."""
    found: list[tuple[str, list[str]]] = []
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for line in re.findall(r"^CMD (\[.*\])$", dockerfile, re.M):
        words = json.loads(line)
        if words[0] == "astroshield":
            found.append(("Dockerfile CMD", words[1:]))
    for path in [DEPLOY / "entrypoint.sh", *SYSTEMD]:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("#"):
                continue
            line = line.removeprefix("ExecStart=")
            words = shlex.split(line) if "astroshield " in line else []
            for i, word in enumerate(words):
                if word == "astroshield" or word.endswith("/bin/astroshield"):
                    found.append((path.name, words[i + 1 :]))
    return found


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = typer.main.get_command(cli)
    # Typer vendors its own click: groups are recognised by their ``commands``.
    while words and words[0] in getattr(command, "commands", {}):
        command, words = command.commands[words[0]], words[1:]  # type: ignore[attr-defined]
    return command, words


def test_the_commands_the_deploy_files_run_exist_with_their_options() -> None:
    commands = _astroshield_commands()
    assert {tuple(words[:2]) for _, words in commands} >= {
        ("serve", "--host"),
        ("db", "upgrade"),
        ("db", "backup"),
    }
    for where, words in commands:
        command, rest = _resolve(words)
        assert not hasattr(command, "commands"), f"{where}: {words} is not a command"
        options = {opt for param in command.params for opt in param.opts}
        for word in rest:
            if word.startswith("--"):
                assert word in options, f"{where}: {words}: no option {word}"


def test_the_entrypoint_migrates_then_runs_its_command(tmp_path: Path) -> None:
    database = tmp_path / "entrypoint.db"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "ASTROSHIELD_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "ASTROSHIELD_AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints.jsonl"),
    }
    entrypoint = str(DEPLOY / "entrypoint.sh")
    result = subprocess.run(
        ["/bin/sh", entrypoint, "astroshield", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr  # `db current` exits 1 unless at head
    # With migrations off, the command runs on the database as it is: here, empty.
    skipped = subprocess.run(
        ["/bin/sh", entrypoint, "astroshield", "db", "current"],
        env={
            **env,
            "ASTROSHIELD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
            "ASTROSHIELD_MIGRATE_ON_START": "false",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert skipped.returncode == 1 and "(empty database)" in skipped.stdout


# ------------------------------------------------------------------ images and proxy


def test_the_image_is_pinned_non_root_and_checks_readiness() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert bases and all(re.fullmatch(rf"python:{version}\.\d+-slim-\w+", b) for b in bases)
    assert "-c requirements/constraints.txt" in dockerfile
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    healthcheck = re.search(r"^HEALTHCHECK [^\n]*\\\n[^\n]*", dockerfile, re.M)
    assert healthcheck and "/readyz" in healthcheck.group(0)
    assert re.search(r'^ENTRYPOINT \["astroshield-entrypoint"\]', dockerfile, re.M)
    assert "COPY deploy/entrypoint.sh /usr/local/bin/astroshield-entrypoint" in dockerfile


def test_compose_runs_the_whole_stack_on_pinned_images() -> None:
    compose = _yaml(YAML_FILES[0])
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "nats",
        "migrate",
        "app1",
        "app2",
        "nginx",
        "prometheus",
        "otel-collector",
    } <= set(services)
    for name, service in services.items():
        image = service.get("image") or compose["x-app"]["image"]
        assert re.search(r":v?\d+\.\d+", image) and "latest" not in image, (name, image)
    assert "--jetstream" in services["nats"]["command"]
    for replica in ("app1", "app2"):
        assert services[replica]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    environment = compose["x-app"]["environment"]
    assert environment["ASTROSHIELD_NATS_URL"] == "nats://nats:4222"
    assert environment["ASTROSHIELD_OTLP_ENDPOINT"].startswith("http://otel-collector:")
    # Prometheus scrapes both replicas on the metrics port the app is told to use.
    metrics_port = environment["ASTROSHIELD_METRICS_ADDRESS"].rsplit(":", 1)[1]
    scrape = _yaml(YAML_FILES[1])["scrape_configs"][0]
    assert scrape["static_configs"][0]["targets"] == [
        f"app1:{metrics_port}",
        f"app2:{metrics_port}",
    ]


def test_nginx_balances_two_replicas_and_upgrades_websockets() -> None:
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    assert conf.count("{") == conf.count("}")
    upstream = re.search(r"upstream astroshield \{([^}]*)\}", conf)
    assert upstream and re.findall(r"server (\S+)", upstream.group(1)) == ["app1:8000", "app2:8000"]
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_http_version 1.1;" in conf
    assert "location = /nginx-health" in conf
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf


# ------------------------------------------------------------------ SLO alert rules

# The SRE workbook's recommended parameters ("Alerting on SLOs", table 5-8):
# (long window, short window, burn rate, severity).
WORKBOOK = {
    ("1h", "5m", 14.4, "page"),
    ("6h", "30m", 6.0, "page"),
    ("1d", "2h", 3.0, "ticket"),
    ("3d", "6h", 1.0, "ticket"),
}
SECONDS = {"m": 60, "h": 3600, "d": 86400}
BUDGETS = {"http_error_ratio": 0.001, "http_slow_read_ratio": 0.01}  # 99.9%, 99%
ALERT_EXPR = re.compile(
    r"^astroshield:(?P<slo>\w+):rate(?P<long>\d+[mhd]) > \((?P<f1>[\d.]+) \* (?P<b1>[\d.]+)\)\n"
    r"and\n"
    r"astroshield:(?P=slo):rate(?P<short>\d+[mhd]) > \((?P<f2>[\d.]+) \* (?P<b2>[\d.]+)\)\n?$"
)


def _seconds(window: str) -> int:
    return int(window[:-1]) * SECONDS[window[-1]]


def test_alerts_are_multi_window_multi_burn_rate_per_the_workbook() -> None:
    rules = _rules()
    records = {rule["record"]: rule["expr"] for rule in rules["astroshield-slo-recording"]}
    alerts = rules["astroshield-slo-alerts"]
    seen: dict[str, set[tuple[str, str, float, str]]] = {slo: set() for slo in BUDGETS}
    for alert in alerts:
        match = ALERT_EXPR.match(alert["expr"])
        assert match, alert["expr"]
        slo, long, short = match["slo"], match["long"], match["short"]
        factor, budget = float(match["f1"]), float(match["b1"])
        assert (match["f2"], match["b2"]) == (match["f1"], match["b1"])  # the same threshold
        assert budget == BUDGETS[slo]
        assert _seconds(long) == 12 * _seconds(short)
        assert alert["labels"]["severity"] in {"page", "ticket"}
        seen[slo].add((long, short, factor, alert["labels"]["severity"]))
        for window in (long, short):
            record = f"astroshield:{slo}:rate{window}"
            assert record in records, f"{alert['alert']} uses {record}, never recorded"
            # The recording rule measures over the window its name says.
            windows = set(re.findall(r"\[(\d+[mhd])\]", records[record]))
            assert windows == {window}, record
    assert seen == dict.fromkeys(BUDGETS, WORKBOOK)
    assert len({alert["alert"] for alert in alerts}) == len(alerts)


def test_recorded_ratios_are_bad_over_total_events() -> None:
    records = {rule["record"]: rule["expr"] for rule in _rules()["astroshield-slo-recording"]}
    errors = records["astroshield:http_error_ratio:rate1h"]
    assert re.sub(r"\s+", " ", errors).strip() == (
        'sum(rate(astroshield_http_requests_total{status="5xx"}[1h])) / '
        "sum(rate(astroshield_http_requests_total[1h]))"
    )
    slow = re.sub(r"\s+", " ", records["astroshield:http_slow_read_ratio:rate1h"]).strip()
    assert slow == (
        '1 - ( sum(rate(astroshield_http_request_duration_seconds_bucket{method="GET", '
        'le="0.25"}[1h])) / sum(rate(astroshield_http_request_duration_seconds_count'
        '{method="GET"}[1h])) )'
    )


# ------------------------------------------------------------------ metric names


def _expressions() -> list[str]:
    exprs = [rule["expr"] for group in _rules().values() for rule in group]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return exprs


def _metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers followed by a selector, a range or
    an operator, minus functions, keywords, label names and recorded series (a:b:c)."""
    expr = re.sub(r"\{[^}]*\}", "{}", expr)  # label matchers hold no metric names
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"(?<![\w:])([a-zA-Z_][a-zA-Z0-9_]*)(?![\w:]|\s*\()", expr))
    return {n for n in names if n not in {"and", "or", "unless", "bool"}}


async def test_every_metric_in_the_alerts_and_dashboard_is_exported(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
) -> None:
    used = set().union(*(_metric_names(expr) for expr in _expressions()))
    assert {
        "astroshield_http_requests_total",
        "astroshield_http_request_duration_seconds_bucket",
    } <= used
    # Traffic of every kind the expressions look at: reads, a refusal, a miss, and an
    # authenticated read that queries the database; then one alert evaluation.
    for path in ("/livez", "/readyz", "/api/v1/spacecraft", "/no-such-page"):
        await client.get(path)
    user = await factory.user()
    listed = await client.get("/api/v1/spacecraft", headers=factory.headers(user))
    assert listed.status_code == 200
    await app.state.alert_evaluator.run_once()
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    exported = {
        sample.name
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    assert used - exported == set(), "used in deploy/ but not exported by the app"
