"""Generic roles (generic::containerd, harbor, any an admin adds): each enabled `configurations`
entry becomes a file; the `environments` variables are substituted into its content ($VAR,
${VAR}); the role's services get the entries' `Service action on write` when one of their files
changed, and are stopped when an action fails if `Service stop on failure` says so."""
from __future__ import annotations

from cmshell.backends.base import DesiredFile, ServiceAction
from cmshell.backends.ssh.renderers.common import RenderError, RenderInput, Rendered, substitute


def _mode(text: object, what: str) -> int:
    try:
        return int(str(text or "0644"), 8)
    except ValueError:
        raise RenderError(f"{what}: {text!r} is not an octal file mask") from None


def render(inp: RenderInput, role: dict) -> Rendered:
    env = {str(e.get("name")): str(e.get("value") or "") for e in role.get("environments") or []}
    files: list[DesiredFile] = []
    by_action: dict[str, list[str]] = {}
    stop = False
    for raw in role.get("configurations") or []:
        c = inp.with_defaults("configurations", raw)
        if c.get("disabled") or not c.get("filename"):
            continue
        path = str(c["filename"])
        what = f"{role['name']} configuration {c.get('name')}"
        content = substitute(str(c.get("content") or ""), env)
        files.append(DesiredFile(path, content.encode(), _mode(c.get("filemask"), what),
                                 str(c.get("username") or "root"), str(c.get("groupname") or "root"),
                                 mkdir=bool(c.get("createdirectory")),
                                 dir_mode=_mode(c.get("filemaskdirectory") or "0755", what) | 0o700))
        action = str(c.get("serviceactiononwrite") or "NONE").lower()
        if action in ("restart", "reload"):
            by_action.setdefault(action, []).append(path)
            stop = stop or bool(c.get("servicestoponfailure"))
    actions = [ServiceAction(str(unit), action, after=tuple(paths), stop_on_failure=stop)
               for action, paths in sorted(by_action.items()) for unit in role.get("services") or []]
    return files, actions
