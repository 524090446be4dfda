"""What every operator command shares: global options, exit codes, error reporting.

Global options (``--engine-url``, ``--api-key``, ``--namespace``, ``--output``,
``--config``) are attached to the command groups *and* to every leaf command, so both
``assay workflow --output json list`` and ``assay workflow list --output json`` work; the
value given last on the command line wins. They are stored in ``ctx.meta`` (shared by the
whole context chain) and resolved once, with the environment and config file, when the
leaf runs.

Exit codes: 0 success, 1 engine error or unreachable, 2 ``workflow wait`` timeout, 64 usage
error (bad flag, bad JSON argument, bad config). Click's own usage errors use 2, which
would collide with the timeout code, so the classes below remap them.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import click
from click.shell_completion import CompletionItem

from assay.cli.config import ConfigError, Flags, Settings, load_settings
from assay.cli.output import Output
from assay.client.http import EngineClient
from assay.errors import ClientError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_TIMEOUT = 2
EXIT_USAGE = 64

_FLAGS_KEY = "assay.flags"


# --- global options -------------------------------------------------------------------


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None and param.name:
        ctx.meta.setdefault(_FLAGS_KEY, {})[param.name] = value


def global_params() -> list[click.Parameter]:
    """Fresh option objects (click parameters must not be shared between commands)."""
    return [
        click.Option(
            ["--engine-url"],
            metavar="URL",
            expose_value=False,
            callback=_remember,
            help="Engine base URL [env ASSAY_ENGINE_URL; default http://127.0.0.1:8080].",
        ),
        click.Option(
            ["--api-key"],
            metavar="KEY",
            expose_value=False,
            callback=_remember,
            help="Bearer token, API key or JWT [env ASSAY_API_KEY; ASSAY_API_KEY_FILE].",
        ),
        click.Option(
            ["-n", "--namespace"],
            metavar="NS",
            expose_value=False,
            callback=_remember,
            help="Namespace [env ASSAY_NAMESPACE; default main].",
        ),
        click.Option(
            ["-o", "--output"],
            type=click.Choice(["table", "json", "jsonl", "yaml", "yml"], case_sensitive=False),
            expose_value=False,
            callback=_remember,
            help="Output format [env ASSAY_OUTPUT; default table on a terminal, json when piped].",
        ),
        click.Option(
            ["--config"],
            metavar="PATH",
            expose_value=False,
            callback=_remember,
            help="Config file [env ASSAY_CONFIG_FILE; default: discovered, see docs].",
        ),
    ]


# --- command classes that own the exit codes --------------------------------------------


def _as_usage(exc: click.UsageError) -> click.UsageError:
    exc.exit_code = EXIT_USAGE
    return exc


class _UsageExits64:
    """Parsing and usage errors of operator commands and groups exit 64 (not click's 2)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)  # type: ignore[misc]
        except click.UsageError as exc:
            raise _as_usage(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except click.UsageError as exc:
            raise _as_usage(exc) from None


class OperatorCommand(_UsageExits64, click.Command):
    """A leaf command: usage errors exit 64, engine errors print one line and exit 1."""

    # Commands that never talk to the engine (completion) set this to False.
    with_global_options = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.with_global_options:
            self.params.extend(global_params())

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            fail(str(exc), EXIT_USAGE)
        except ClientError as exc:
            fail(str(exc), EXIT_ERROR)


class OperatorGroup(_UsageExits64, click.Group):
    """A command group whose parsing errors (unknown or missing subcommand) exit 64."""

    command_class = OperatorCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(*args, **kwargs)
        self.params.extend(global_params())

OperatorGroup.group_class = OperatorGroup


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit; never a traceback."""
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


# --- the per-run context ----------------------------------------------------------------


@dataclass
class Invocation:
    """Resolved settings plus the output and the (lazily opened) engine client."""

    settings: Settings
    out: Output
    _client: EngineClient | None = field(default=None, repr=False)

    @property
    def namespace(self) -> str:
        return self.settings.namespace

    @property
    def client(self) -> EngineClient:
        if self._client is None:
            self._client = EngineClient(self.settings.engine_url, self.settings.api_key)
            click.get_current_context().call_on_close(self._client.close)
        return self._client

    @property
    def table(self) -> bool:
        return self.settings.output == "table"

    def note(self, message: str) -> None:
        """A human hint (paging, totals) on stderr, only when a person is watching."""
        if self.table and self.out.is_tty:
            click.echo(message, err=True)


def _flags(ctx: click.Context) -> Flags:
    given = ctx.meta.get(_FLAGS_KEY, {})
    names = ("engine_url", "api_key", "namespace", "output", "config")
    return Flags(**{name: given.get(name) for name in names})


def build_invocation(ctx: click.Context) -> Invocation:
    root_obj = ctx.find_root().obj
    if not (isinstance(root_obj, dict) and root_obj.get("verbose")):
        # The root sets INFO logging; httpx would log every request on stderr. `assay -v`
        # keeps those lines, which is what one wants when debugging a connection.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    flags = _flags(ctx)
    is_tty = _isatty(sys.stdout)
    settings = load_settings(flags, stdout_is_tty=is_tty)
    color = is_tty and not os.environ.get("NO_COLOR")
    out = Output(settings.output, stream=sys.stdout, is_tty=is_tty, color=color)
    return Invocation(settings=settings, out=out)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def pass_invocation(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: call ``func(inv, **params)`` with the resolved ``Invocation``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        inv = build_invocation(click.get_current_context())
        return func(inv, *args, **kwargs)

    return wrapper


# --- dynamic shell completion ---------------------------------------------------------

# A shell waits for completions synchronously: an unreachable engine must cost little.
COMPLETION_TIMEOUT_SECS = 1.5

Fetch = Callable[[EngineClient, Settings], Iterable[str]]


def engine_completion(fetch: Fetch) -> Callable[..., list[CompletionItem]]:
    """A click ``shell_complete`` callback that offers names fetched from the engine
    (workflow ids, schedule and namespace names), honouring the same settings."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            settings = load_settings(_flags(ctx), stdout_is_tty=False)
            with EngineClient(
                settings.engine_url, settings.api_key, timeout=COMPLETION_TIMEOUT_SECS
            ) as client:
                values = list(fetch(client, settings))
        except Exception:  # noqa: BLE001 - a completion must never print a traceback
            return []
        return [CompletionItem(value) for value in values if value.startswith(incomplete)]

    return complete
