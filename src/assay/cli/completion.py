"""``assay completion SHELL``: print a shell completion script.

bash, zsh and fish use click's own scripts. PowerShell and elvish have none in click, so
the scripts below drive the same protocol click's bash script uses: they call ``assay``
with ``_ASSAY_COMPLETE=bash_complete``, ``COMP_WORDS`` (the line so far) and
``COMP_CWORD`` (the index of the word being completed), and read back ``type,value``
lines. One completion engine, five shells.
"""

from __future__ import annotations

import os
import sys

import click
from click.shell_completion import get_completion_class

from assay.cli.invocation import OperatorCommand

PROG_NAME = "assay"
COMPLETE_VAR = "_ASSAY_COMPLETE"
SHELLS = ("bash", "zsh", "fish", "powershell", "elvish")

POWERSHELL_SCRIPT = r"""# assay completion for PowerShell. Add to $PROFILE:
#   assay completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'assay' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $line = $commandAst.ToString()
    $offset = $cursorPosition - $commandAst.Extent.StartOffset
    if ($offset -lt $line.Length) { $line = $line.Substring(0, $offset) }
    $words = @($line -split '\s+' | Where-Object { $_ -ne '' })
    $cword = $words.Count
    if ($wordToComplete -ne '') { $cword = $cword - 1 }
    $env:COMP_WORDS = $line
    $env:COMP_CWORD = "$cword"
    $env:_ASSAY_COMPLETE = 'bash_complete'
    try {
        $lines = & assay 2>$null
    } finally {
        Remove-Item Env:\COMP_WORDS, Env:\COMP_CWORD, Env:\_ASSAY_COMPLETE -ErrorAction SilentlyContinue
    }
    foreach ($item in $lines) {
        $kind, $value = $item -split ',', 2
        if ($kind -eq 'plain') {
            [System.Management.Automation.CompletionResult]::new($value, $value, 'ParameterValue', $value)
        }
    }
}
"""

ELVISH_SCRIPT = r"""# assay completion for elvish. Add to ~/.config/elvish/rc.elv:
#   eval (assay completion elvish | slurp)
use str
set edit:completion:arg-completer[assay] = {|@words|
    # words: the command name, the words typed so far, and the word being completed.
    var cword = (- (count $words) 1)
    var line = (str:join ' ' $words)
    var lines = [(env COMP_WORDS=$line COMP_CWORD=$cword _ASSAY_COMPLETE=bash_complete assay 2>/dev/null)]
    for item $lines {
        var parts = [(str:split &max=2 ',' $item)]
        if (and (== (count $parts) 2) (eq $parts[0] plain)) {
            put $parts[1]
        }
    }
}
"""


class CompletionCommand(OperatorCommand):
    # Talks to no engine, so the engine options would only clutter its help.
    with_global_options = False


def completion_script(shell: str) -> str:
    if shell == "powershell":
        return POWERSHELL_SCRIPT
    if shell == "elvish":
        return ELVISH_SCRIPT
    from assay.cli.main import cli  # the root group; imported late (main imports us lazily)

    complete_class = get_completion_class(shell)
    if complete_class is None:  # pragma: no cover - click ships bash, zsh and fish
        raise click.UsageError(f"no completion support for {shell}")
    source = complete_class(cli, {}, PROG_NAME, COMPLETE_VAR).source()
    return source if source.endswith("\n") else source + "\n"


@click.command(
    cls=CompletionCommand,
    epilog="""\b
Install:
  bash:        assay completion bash > /etc/bash_completion.d/assay
  zsh:         assay completion zsh > "${fpath[1]}/_assay"
  fish:        assay completion fish > ~/.config/fish/completions/assay.fish
  powershell:  assay completion powershell | Out-String | Invoke-Expression
  elvish:      eval (assay completion elvish | slurp)
""",
)
@click.argument("shell", type=click.Choice(SHELLS, case_sensitive=False))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh, fish, powershell, elvish)."""
    script = completion_script(shell.lower())
    try:
        sys.stdout.write(script)
        sys.stdout.flush()
    except BrokenPipeError:
        # `assay completion bash | head` is not an error. Point stdout at /dev/null so
        # the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise click.exceptions.Exit(0) from None
