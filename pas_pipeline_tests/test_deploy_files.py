"""The server deployment files in ``deploy/``, checked against the code they run.

The systemd units must run console scripts this environment installs, with flags their own
parsers accept, as an unprivileged user whose state stays within ``ReadWritePaths``; the
environment file may only name variables the configuration reads; the Prometheus rules may
only use metric names, suffixes, labels and label values the pipeline exposes, with the
thresholds the pipeline's own alerts use. Nothing here needs systemd, a network or a
Prometheus server (the ``promtool`` test is skipped where it is not installed, except under CI).
"""

from __future__ import annotations

import argparse
import ast
import configparser
import importlib
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path, PurePosixPath
from typing import Any

import click
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from pas_pipeline import cli
from pas_pipeline.defs.alerts import MAX_DRAWDOWN
from pas_pipeline.observability import metrics, tracing
from pas_pipeline.portfolio.allocation import AllocationSettings

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
UNITS = {
    "pas-webserver": DEPLOY / "systemd" / "pas-webserver.service",
    "pas-daemon": DEPLOY / "systemd" / "pas-daemon.service",
}
ENV_EXAMPLE = DEPLOY / "pas.env.example"
PAS_ADMIN = DEPLOY / "bin" / "pas-admin"
PROMETHEUS_DIR = DEPLOY / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERT_RULES = PROMETHEUS_DIR / "pas_alerts.yml"
ALERT_RULE_TESTS = PROMETHEUS_DIR / "pas_alerts_test.yml"

CHECKOUT = PurePosixPath("/opt/pas_pipeline")
"""Where the units expect the repository checkout (``WorkingDirectory``)."""
VENV_BIN = CHECKOUT / ".venv" / "bin"
ENVIRONMENT_FILE = "/etc/pas_pipeline/pas.env"
STATE_DIR = PurePosixPath("/var/lib/pas_pipeline")
DAEMON_SCRIPT = "dagster-daemon"
"""The one console script the units run that another distribution (dagster) installs."""

TARGET_LABELS = {"job", "instance"}
"""Labels Prometheus adds to every scraped series."""
ENV_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
PAS_METRIC = re.compile(r"\b(pas_[a-z0-9_]+)\b")
SELECTOR = re.compile(r"\b(pas_[a-z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r"""([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)\"""")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


# --- systemd units ----------------------------------------------------------------------


class _RepeatedKeys(dict):
    """configparser's option store, keeping every line of a key systemd allows to repeat
    (``Environment=``...): a repeated key's values join the earlier ones, one per line."""

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, list) and isinstance(self.get(key), list):
            self[key].extend(value)
        else:
            super().__setitem__(key, value)


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, dict_type=_RepeatedKeys, delimiters=("=",)
    )
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text(), source=str(path))
    return parser


def values(unit: configparser.ConfigParser, section: str, key: str) -> list[str]:
    """Every value of ``key`` in ``section``, one per line of the unit, in order."""
    if not unit.has_option(section, key):
        return []
    return [line.strip() for line in unit.get(section, key).splitlines() if line.strip()]


def words(unit: configparser.ConfigParser, section: str, key: str) -> list[str]:
    """The space-separated words of every ``key`` line (``Wants=a b`` and so on)."""
    return [word for line in values(unit, section, key) for word in line.split()]


def environment(unit: configparser.ConfigParser) -> dict[str, str]:
    """The unit's ``Environment=`` assignments."""
    pairs = (
        word.partition("=")
        for line in values(unit, "Service", "Environment")
        for word in shlex.split(line)
    )
    return {name: value for name, _, value in pairs}


def command(unit: configparser.ConfigParser, key: str) -> list[str]:
    """The single ``ExecStart``/``ExecStartPre`` command line of the unit, split."""
    lines = values(unit, "Service", key)
    assert len(lines) == 1, f"{key}: expected one command, got {lines}"
    return shlex.split(lines[0])


@pytest.fixture(params=sorted(UNITS), scope="module")
def unit(request: pytest.FixtureRequest) -> configparser.ConfigParser:
    return read_unit(UNITS[request.param])


def project_scripts() -> set[str]:
    """``[project.scripts]`` of pyproject.toml."""
    with (REPO / "pyproject.toml").open("rb") as file:
        return set(tomllib.load(file)["project"]["scripts"])


def installed_scripts() -> dict[str, Any]:
    """Console scripts installed in this environment, by name."""
    return {point.name: point for point in entry_points(group="console_scripts")}


def under(path: str, directory: PurePosixPath) -> bool:
    return PurePosixPath(path).is_relative_to(directory)


def test_units_parse_with_unit_service_and_install_sections(
    unit: configparser.ConfigParser,
) -> None:
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    assert words(unit, "Install", "WantedBy") == ["multi-user.target"]


def test_units_run_console_scripts_installed_in_the_checkouts_venv(
    unit: configparser.ConfigParser,
) -> None:
    scripts = installed_scripts()
    allowed = project_scripts() | {DAEMON_SCRIPT}

    for key in ("ExecStartPre", "ExecStart"):
        executable = PurePosixPath(command(unit, key)[0])
        assert executable.parent == VENV_BIN, f"{key} runs {executable}"
        assert executable.name in allowed, f"{key}: {executable.name} is not ours"
        assert executable.name in scripts, f"{key}: {executable.name} is not installed"
    assert values(unit, "Service", "WorkingDirectory") == [str(CHECKOUT)]


def parse_pas_serve(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    """``argv`` parsed by the parser ``pas-serve``'s own ``main`` builds, stopped before it
    serves anything (an unknown flag fails the test)."""
    from pas_pipeline.webserver import app

    class Parsed(Exception):
        pass

    parsed: list[argparse.Namespace] = []
    parse_args = argparse.ArgumentParser.parse_args

    def parse_then_stop(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None):
        parsed.append(parse_args(self, args, namespace))
        raise Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    try:
        app.main(argv)
    except Parsed:
        return parsed[0]
    except SystemExit as exit_:
        pytest.fail(f"pas-serve refuses {argv}: exit status {exit_.code}")
    pytest.fail("pas-serve's main did not parse its arguments")


def test_the_webserver_runs_pas_serve_on_loopback_with_flags_it_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = command(read_unit(UNITS["pas-webserver"]), "ExecStart")

    args = parse_pas_serve(argv[1:], monkeypatch)

    assert PurePosixPath(argv[0]).name == "pas-serve"
    assert (args.host, args.port, args.workspace) == ("127.0.0.1", 3000, Path("workspace.yaml"))


def test_the_daemon_runs_dagster_daemon_run_with_flags_it_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = command(read_unit(UNITS["pas-daemon"]), "ExecStart")
    point = installed_scripts()[PurePosixPath(argv[0]).name]
    group = importlib.import_module(point.module).cli  # the click group behind ``main``
    monkeypatch.chdir(REPO)  # the unit's WorkingDirectory: -w must name an existing file

    run = group.get_command(click.Context(group), argv[1])
    assert run is not None, f"dagster-daemon has no command {argv[1]!r}"
    try:
        parsed = run.make_context(argv[1], argv[2:], parent=click.Context(group))
    except click.ClickException as error:
        pytest.fail(f"dagster-daemon refuses {argv[1:]}: {error.format_message()}")

    assert point.name == DAEMON_SCRIPT
    assert parsed.params["workspace"] == ("workspace.yaml",)


def test_exec_start_pre_writes_dagster_yaml_into_the_units_dagster_home(
    unit: configparser.ConfigParser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = command(unit, "ExecStartPre")
    for name, value in environment(unit).items():
        if under(value, STATE_DIR):
            monkeypatch.setenv(name, str(tmp_path / PurePosixPath(value).relative_to(STATE_DIR)))
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)

    status = cli.main(argv[1:])

    assert PurePosixPath(argv[0]).name == "pas"
    assert status == 0
    assert (tmp_path / "dagster" / "dagster.yaml").is_file()


def test_units_read_the_environment_file(unit: configparser.ConfigParser) -> None:
    assert values(unit, "Service", "EnvironmentFile") == [ENVIRONMENT_FILE]


def test_units_keep_pas_home_dagster_home_and_home_within_read_write_paths(
    unit: configparser.ConfigParser,
) -> None:
    writable = [PurePosixPath(path) for path in words(unit, "Service", "ReadWritePaths")]
    env = environment(unit)

    assert writable == [STATE_DIR]
    assert env["PAS_HOME"] == str(STATE_DIR)
    assert env["DAGSTER_HOME"] == str(STATE_DIR / "dagster")
    for name in ("PAS_HOME", "DAGSTER_HOME", "HOME"):
        assert any(under(env[name], path) for path in writable), name


def test_units_run_unprivileged_in_a_read_only_sandbox(unit: configparser.ConfigParser) -> None:
    service = {key: values(unit, "Service", key) for key in unit.options("Service")}

    assert service["User"] == ["pas"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["PrivateTmp"] == ["yes"]
    assert service["ProtectHome"] == ["yes"]


def test_units_restart_on_failure(unit: configparser.ConfigParser) -> None:
    assert values(unit, "Service", "Restart") == ["on-failure"]


def test_units_start_after_postgresql_without_requiring_it(
    unit: configparser.ConfigParser,
) -> None:
    required = {
        word for key in ("Requires", "Requisite", "BindsTo") for word in words(unit, "Unit", key)
    }

    assert {"network-online.target", "postgresql.service"} <= set(words(unit, "Unit", "Wants"))
    assert {"network-online.target", "postgresql.service"} <= set(words(unit, "Unit", "After"))
    assert "postgresql.service" not in required


def test_pas_admin_runs_commands_with_the_units_user_directory_and_environment() -> None:
    script = PAS_ADMIN.read_text()
    units = [read_unit(path) for path in UNITS.values()]
    setenv = dict(re.findall(r"--setenv=([A-Z_]+)=(\S+)", script))

    for each in units:
        assert f"--uid={values(each, 'Service', 'User')[0]}" in script
        assert f"--working-directory={values(each, 'Service', 'WorkingDirectory')[0]}" in script
        assert f"--property=EnvironmentFile={ENVIRONMENT_FILE}" in script
        assert setenv == environment(each)
    assert f'"{VENV_BIN}/$command"' in script


# --- the environment file ---------------------------------------------------------------


def env_example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text().splitlines()


def env_example_names() -> list[str]:
    return [m.group(1) for line in env_example_lines() if (m := ENV_ASSIGNMENT.match(line))]


def _variable_read(call: ast.Call) -> str | None:
    """The variable a call in config.py reads: ``env.get(NAME, ...)``, ``_secret(env, NAME)``."""
    func, args = call.func, call.args
    if isinstance(func, ast.Attribute) and func.attr == "get" and ast.unparse(func.value) == "env":
        name = args[0] if args else None
    elif isinstance(func, ast.Name) and func.id == "_secret" and len(args) == 2:
        name = args[1]
    else:
        return None
    return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None


def variables_the_configuration_reads() -> set[str]:
    """Names ``pas_pipeline/config.py`` reads from the environment, the trace exporter's
    variable it delegates to :mod:`~pas_pipeline.observability.tracing`, and the variables
    the repository's ``dagster.yaml`` has Dagster read (``env:``)."""
    source = (REPO / "pas_pipeline" / "config.py").read_text()
    calls = (node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call))
    names = {name for call in calls if (name := _variable_read(call))}

    def dagster_env(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "env" and isinstance(value, str):
                    yield value
                yield from dagster_env(value)
        elif isinstance(node, list):
            for value in node:
                yield from dagster_env(value)

    dagster = yaml.safe_load((REPO / "dagster.yaml").read_text())
    return names | {tracing.TRACE_EXPORTER_ENV} | set(dagster_env(dagster))


def test_every_variable_of_the_env_example_is_read_by_the_configuration() -> None:
    read = variables_the_configuration_reads()

    assert {"API_TOKEN", "DAGSTER_PG_URL", "PG_URI"} <= read  # the collection works
    assert sorted(set(env_example_names()) - read) == []


def test_the_env_example_lists_every_variable_the_configuration_reads_but_the_homes() -> None:
    missing = variables_the_configuration_reads() - set(env_example_names())

    assert missing == {"PAS_HOME"}  # DAGSTER_HOME is Dagster's, set by the units too


def test_the_env_example_names_each_variable_once_with_a_comment_above() -> None:
    lines = env_example_lines()
    names = env_example_names()

    assert len(names) == len(set(names))
    for index, line in enumerate(lines):
        if ENV_ASSIGNMENT.match(line):
            assert index > 0 and lines[index - 1].startswith("# "), line


def test_the_env_example_leaves_pas_home_and_dagster_home_to_the_units() -> None:
    # Values from EnvironmentFile= override Environment=, and would escape ReadWritePaths.
    assert {"PAS_HOME", "DAGSTER_HOME"}.isdisjoint(env_example_names())


def test_the_env_example_holds_no_token() -> None:
    assignments = dict(
        m.groups() for line in env_example_lines() if (m := ENV_ASSIGNMENT.match(line))
    )

    assert assignments["API_TOKEN"] == ""


# --- Prometheus ---------------------------------------------------------------------------


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load(ALERT_RULES)["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> list[str]:
    """The ``pas_*`` metric names of a PromQL expression (label values left out)."""
    return PAS_METRIC.findall(re.sub(r'"[^"]*"', '""', expr))


EXPOSITION_SCRIPT = """
import sys
from pas_pipeline.observability import metrics as m

m.record_api_call("deploy-test", "error", 0.1, "auth")
m.record_api_retry("deploy-test")
m.record_rows_ingested("deploy_test", 1)
m.record_rebalance_seconds(1.0)
m.record_orders(1, ["trading is HALTED"])
m.record_portfolio(1.0, 1.0, 0.01, 0.0)
m.record_var(0.01)
m.record_trading_state("ACTIVE")
sys.stdout.write(m.collect_metrics_text(None).decode())
"""


@pytest.fixture(scope="module")
def exposition() -> dict[str, list[dict[str, str]]]:
    """The served ``/metrics`` text after one value of every ``record_*`` helper, as
    {sample name: [labels of each sample]}. Recorded in a child process, so the gauges of
    this process's registry, which other tests read, stay as they are."""
    text = subprocess.run(
        [sys.executable, "-c", EXPOSITION_SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    samples: dict[str, list[dict[str, str]]] = {}
    families = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample.labels)
    declared = {
        family.name
        for metric in vars(metrics).values()
        if isinstance(metric, MetricWrapperBase)
        for family in metric.describe()
    }
    assert declared <= families, f"not recorded by the script: {sorted(declared - families)}"
    return samples


@pytest.mark.parametrize(
    "path", [PROMETHEUS_CONFIG, ALERT_RULES, ALERT_RULE_TESTS], ids=lambda path: path.name
)
def test_prometheus_files_are_yaml(path: Path) -> None:
    assert isinstance(load(path), dict)


def test_prometheus_scrapes_the_webservers_metrics_with_the_token_file() -> None:
    jobs = {job["job_name"]: job for job in load(PROMETHEUS_CONFIG)["scrape_configs"]}
    webserver = command(read_unit(UNITS["pas-webserver"]), "ExecStart")
    port = webserver[webserver.index("--port") + 1]

    job = jobs["pas_pipeline"]

    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job.get("scheme", "http") == "http"
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/etc/prometheus/pas_api_token",
    }
    assert [c["targets"] for c in job["static_configs"]] == [[f"127.0.0.1:{port}"]]


def test_prometheus_loads_the_alert_rules_beside_it() -> None:
    rule_files = load(PROMETHEUS_CONFIG)["rule_files"]

    assert [(PROMETHEUS_DIR / path).resolve() for path in rule_files] == [ALERT_RULES]


def test_every_rule_has_an_expression_a_duration_a_severity_and_a_summary() -> None:
    rules = alert_rules()

    assert rules
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert len({rule["alert"] for rule in rules}) == len(rules)


def test_the_rules_cover_state_risk_errors_blocks_and_rebalances() -> None:
    used = {name for rule in alert_rules() for name in metric_names(rule["expr"])}

    assert used >= {
        "pas_trading_state",
        "pas_drawdown",
        "pas_var_95",
        "pas_api_errors_total",
        "pas_orders_blocked_total",
        "pas_rebalance_seconds_count",
    }


def test_every_metric_in_the_rules_is_exposed_under_that_name(
    exposition: dict[str, list[dict[str, str]]],
) -> None:
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            assert name in exposition, f"{rule['alert']}: {name} is not exposed"


def test_every_label_in_the_rules_exists_on_the_metrics_they_use(
    exposition: dict[str, list[dict[str, str]]],
) -> None:
    for rule in alert_rules():
        expr = rule["expr"]
        for name, matchers in SELECTOR.findall(expr):
            for label, operator, value in MATCHER.findall(matchers):
                seen = {labels.get(label) for labels in exposition[name]} - {None}
                assert seen or label in TARGET_LABELS, f"{rule['alert']}: {name} has no {label}"
                if operator == "=" and label not in TARGET_LABELS:
                    assert value in seen, f"{rule['alert']}: {name}{{{label}={value!r}}}"
        available = TARGET_LABELS | {
            label for name in metric_names(expr) for s in exposition[name] for label in s
        }
        for grouping in GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in grouping.split(","))):
                assert label in available, f"{rule['alert']}: no metric has {label}"


def threshold(metric: str) -> float:
    """The number in ``<metric> > <number>`` of the rule that compares ``metric``."""
    pattern = re.compile(rf"^\s*{metric}\s*>\s*([0-9.eE+-]+)\s*$")
    found = [float(m.group(1)) for r in alert_rules() if (m := pattern.match(r["expr"]))]
    assert len(found) == 1, f"one rule '{metric} > number' expected, found {found}"
    return found[0]


def test_the_drawdown_rule_uses_the_limit_of_the_pipelines_alert() -> None:
    assert threshold("pas_drawdown") == MAX_DRAWDOWN


def test_the_var_rule_uses_the_budget_with_no_more_than_rounding_slack() -> None:
    budget = AllocationSettings().var_limit
    # target_weights scales the VaR down to the budget (var * (budget / var)), which can land
    # one float step above it: that is no excess.
    rounded_up = math.nextafter(budget, 1.0)

    assert rounded_up < threshold("pas_var_95") <= budget * 1.001


@pytest.mark.skipif(
    shutil.which("promtool") is None and not os.environ.get("CI"),
    reason="promtool is not installed (under CI a missing promtool fails instead)",
)
def test_promtool_accepts_the_rules_and_their_examples_pass() -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", ALERT_RULES.name],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    examples = subprocess.run(
        ["promtool", "test", "rules", ALERT_RULE_TESTS.name],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert examples.returncode == 0, examples.stdout + examples.stderr


# --- the documentation --------------------------------------------------------------------


def test_the_deployment_page_follows_operations_in_the_navigation() -> None:
    nav = [next(iter(entry.values())) for entry in load(REPO / "mkdocs.yml")["nav"]]

    assert nav[nav.index("operations.md") + 1] == "deployment.md"
