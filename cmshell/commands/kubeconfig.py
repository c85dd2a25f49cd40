"""`kubeconfig <user>` in kubernetes mode: print a kubeconfig for a Kubernetes user, with a
bound token from the TokenRequest API (docs/backends.md, "Kubernetes")."""
from __future__ import annotations

from cmshell.shell.dispatch import command
from cmshell.errors import CommandError


@command("kubeconfig", "Print a kubeconfig for a Kubernetes user (token from the TokenRequest API)",
         scope="mode:kubernetes", usage=["kubeconfig [<cluster>] <user> [--expiration <seconds>]"],
         examples=["kubeconfig john", "kubeconfig default john --expiration 7200"], args=("any*",))
def kubeconfig(s, args):
    args = list(args)
    seconds = 3600
    if "--expiration" in args:
        i = args.index("--expiration")
        try:
            seconds = int(args[i + 1])
        except (IndexError, ValueError):
            raise CommandError("kubeconfig: --expiration takes a number of seconds") from None
        del args[i:i + 2]
    lvl = s.path[0]
    if lvl.key is not None and len(args) == 1:
        cluster, user = s.ws.name_of("kubernetes", lvl.key), args[0]
    elif len(args) == 2:
        cluster, user = args
    else:
        raise CommandError("Usage: kubeconfig [<cluster>] <user> (or 'use <cluster>' first)")
    engine = s.engine
    if engine is None or "kubernetes" not in engine.names():
        raise CommandError("kubeconfig: the kubernetes backend is not available")
    from cmshell.backends.kubernetes.client import Unreachable
    from cmshell.backends.kubernetes.kubeconfig import user_kubeconfig
    try:
        text = user_kubeconfig(engine.backend("kubernetes"), engine.context("kubernetes"), cluster, user, seconds)
    except LookupError as e:
        raise CommandError(f"kubeconfig: {e.args[0]}") from None
    except Unreachable as e:
        raise CommandError(f"kubeconfig: {e}") from None
    except Exception as e:                # noqa: BLE001 - an API error, in one line
        from cmshell.backends.kubernetes.client import classify
        err = classify(e)
        raise CommandError(f"kubeconfig: {err.text if err else e}") from None
    s.write(text.rstrip("\n"))
