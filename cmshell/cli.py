"""Command line: argv → Environment → batch runner or interactive shell. Exit statuses below."""
from __future__ import annotations

import argparse
import os
import sys

from cmshell import __version__
from cmshell.env import Environment
from cmshell.status import Exit


class _Parser(argparse.ArgumentParser):
    """argparse writing --help / --version / usage errors to the Environment's streams (not to
    sys.stdout / sys.stderr), wrapped to the Environment's terminal width."""

    def __init__(self, env: Environment, **kwargs) -> None:
        self.env = env
        width = max(env.terminal_size().columns - 2, 20)
        super().__init__(formatter_class=lambda prog: argparse.HelpFormatter(prog, width=width),
                         **kwargs)

    def _print_message(self, message: str, file=None) -> None:
        if message:
            (self.env.stderr if file is sys.stderr else self.env.stdout).write(message)


def parser(env: Environment | None = None) -> argparse.ArgumentParser:
    p = _Parser(env or Environment(), prog="cmshell",
                description="Cluster management shell (cmsh style).")
    p.add_argument("-c", dest="commands", metavar="COMMANDS", help='run COMMANDS ("a; b") and exit')
    p.add_argument("-f", dest="file", metavar="FILE", help="run the commands in FILE and exit")
    p.add_argument("-x", "--echo", action="store_true", help="echo every command before running it")
    p.add_argument("-q", "--quit", action="store_true", help="stop at the first failing command")
    p.add_argument("-n", "--norc", action="store_true", help="do not run ~/.cmshellrc at start-up")
    p.add_argument("-Q", "--noquitconfirmation", action="store_true",
                   help="never ask for confirmation on quit")
    p.add_argument("--db", metavar="PATH", help="the store: a file, or a postgresql:// URL (default: "
                   "$CMSHELL_DB, else $XDG_DATA_HOME/cmshell/cluster.db)")
    p.add_argument("--demo", action="store_true",
                   help="work on a fresh temporary copy of the demo cluster (basecm10)")
    p.add_argument("--load", metavar="FILE", help="load a cluster YAML file into an empty store "
                   "(a new one, when the path names no store)")
    p.add_argument("--init", action="store_true",
                   help="create a new, empty store (a missing store is created only with --init, "
                   "--load or --demo)")
    p.add_argument("--dump", action="store_true", help="write the store as cluster YAML to stdout")
    p.add_argument("--with-secrets", action="store_true",
                   help="with --dump: write secrets in clear, not as ***** (the form for backups)")
    p.add_argument("--check", action="store_true",
                   help="check every page of the store (stores up to 8 MiB are checked at every start)")
    p.add_argument("--config", metavar="FILE", help="the configuration file (default: $CMSHELL_CONFIG, "
                   "else $XDG_CONFIG_HOME/cmshell/config.yaml); applying is off without one")
    p.add_argument("--color", choices=("yes", "no"), help="colour output (default: on a terminal, "
                   "unless NO_COLOR is set)")
    p.add_argument("--completion", choices=("readline", "menu"), default="readline",
                   help="Tab as cmsh's readline (default: the common part, then a list on the "
                   "second Tab) or a menu that follows the cursor (see the 'completion' command)")
    p.add_argument("--show-prompt", action="store_true",
                   help="echo each command after the prompt it runs at (session transcripts)")
    p.add_argument("--version", action="version", version=f"cmshell {__version__}")
    return p


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    env = env or Environment()
    try:
        p = parser(env)
        args = p.parse_args(argv)
        if args.with_secrets and not args.dump:
            p.error("--with-secrets goes with --dump")
    except SystemExit as e:
        return int(e.code or 0)
    from cmshell.runner import Runner, StartError
    try:
        runner = Runner(args, env)
    except StartError as e:
        env.stderr.write(f"{e}\n")
        return Exit.FAILED
    try:
        return runner.run()
    except KeyboardInterrupt:
        env.stderr.write("Interrupted\n")
        return Exit.FAILED
    except BrokenPipeError:     # `cmshell … | head`: the reader left; stop quietly
        if env.stdout is sys.stdout:
            # the interpreter flushes sys.stdout at exit: let that go nowhere, not to a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.FAILED
    finally:
        runner.close()
