"""Operator commands own their exit codes and accept global options at either level."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from assay.cli.invocation import EXIT_ERROR, EXIT_USAGE, OperatorGroup, fail
from assay.cli.main import cli
from assay.client.http import NotFoundError


@pytest.fixture
def group() -> click.Group:
    @click.group(cls=OperatorGroup)
    def grp() -> None:
        """test group"""

    @grp.command()
    @click.option("--count", type=int)
    def flags(count: int | None) -> None:
        click.echo(repr(sorted(click.get_current_context().meta.get("assay.flags", {}).items())))

    @grp.command()
    def boom() -> None:
        raise NotFoundError(
            status=404, code="not_found", message="no workflow x", method="GET",
            url="http://e/api/v1/workflows/x")

    @grp.command()
    def bail() -> None:
        fail("custom")

    return grp


def test_global_options_work_on_group_and_leaf_and_last_wins(group):
    runner = CliRunner()
    result = runner.invoke(group, ["-o", "yaml", "--engine-url", "http://a", "flags",
                                   "--engine-url", "http://b", "-n", "ns"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "[('engine_url', 'http://b'), ('namespace', 'ns'), ('output', 'yaml')]")


def test_click_usage_errors_exit_64(group):
    runner = CliRunner()
    assert runner.invoke(group, ["flags", "--count", "x"]).exit_code == EXIT_USAGE
    assert runner.invoke(group, ["flags", "--nope"]).exit_code == EXIT_USAGE
    assert runner.invoke(group, ["missing"]).exit_code == EXIT_USAGE
    assert runner.invoke(group, ["-o", "xml", "flags"]).exit_code == EXIT_USAGE


def test_engine_errors_are_one_line_exit_1(group):
    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == EXIT_ERROR
    assert result.stderr == (
        "error: GET http://e/api/v1/workflows/x: HTTP 404 not_found: no workflow x\n")
    assert "Traceback" not in result.output


def test_fail_prints_error_prefix(group):
    result = CliRunner().invoke(group, ["bail"])
    assert (result.exit_code, result.stderr) == (EXIT_ERROR, "error: custom\n")


@pytest.mark.parametrize("name", ["workflow", "schedule", "namespace", "worker", "queue"])
def test_every_group_and_command_has_help_with_examples(name):
    runner = CliRunner()
    group = cli.get_command(click.Context(cli), name)
    assert isinstance(group, click.Group)
    for sub in group.list_commands(click.Context(group)):
        result = runner.invoke(cli, [name, sub, "--help"])
        assert result.exit_code == 0, (name, sub, result.output)
        assert "Example" in result.output, (name, sub)
        assert "--engine-url" in result.output


def test_real_groups_map_usage_errors_to_64():
    runner = CliRunner()
    assert runner.invoke(cli, ["workflow", "start"]).exit_code == EXIT_USAGE  # missing --type
    assert runner.invoke(cli, ["workflow", "list", "--status", "bogus"]).exit_code == EXIT_USAGE
    assert runner.invoke(cli, ["schedule", "patch", "s"]).exit_code == EXIT_USAGE
    assert runner.invoke(cli, ["completion", "tcsh"]).exit_code == EXIT_USAGE
    assert runner.invoke(cli, ["queue"]).exit_code == EXIT_USAGE


def test_status_filter_accepts_any_case():
    ctx = cli.make_context("assay", ["workflow", "list", "--status", "running"])
    group = cli.get_command(ctx, "workflow")
    sub = group.get_command(ctx, "list")
    sub_ctx = sub.make_context("list", ["--status", "running"])
    assert sub_ctx.params["status"] == "RUNNING"
