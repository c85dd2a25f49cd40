"""One connection per Kubernetes cluster object, and the few API calls the backend makes.

Imported only when something is applied or planned: `kubernetes` costs ~250 ms to import.
Server-side apply (`PATCH application/apply-patch+yaml`, fieldManager in the query) is the only
write for objects; deletions are by name, from cmshell's own inventory.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ApiException as DynApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from urllib3.exceptions import HTTPError as Urllib3Error

from cmshell.backends.kubernetes.render import ObjRef

DISCOVERY_TTL = 600.0           # seconds; the client's own cache in /tmp never expires
TIMEOUT = (5.0, 30.0)           # connect, read: an unreachable API must not hang a commit
_PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


class Unreachable(Exception):
    """The API server cannot be reached (refused, timeout, TLS, bad kubeconfig)."""


@dataclass
class ObjectError:
    """Why one object was not applied, in one line; `status` is the HTTP status (0: none)."""
    status: int
    text: str


def _api_client(settings: dict) -> kclient.ApiClient:
    cfg = kclient.Configuration()
    path = str(settings["kubeconfig"])
    try:
        kconfig.load_kube_config(config_file=path, context=settings.get("context"),
                                 client_configuration=cfg, persist_config=False)
    except (kconfig.ConfigException, OSError, TypeError, ValueError) as e:
        raise Unreachable(f"cannot load kubeconfig {path}: {str(e).splitlines()[0]}") from None
    cfg.retries = 0              # one failed connect is enough to say "unreachable"
    if cfg.verify_ssl is False:
        raise Unreachable(f"kubeconfig {path} turns TLS verification off; cmshell refuses that")
    return kclient.ApiClient(cfg)


class Cluster:
    """A connection to one cluster: the API client and a DynamicClient whose discovery cache is
    under the user's cache directory and expires."""

    def __init__(self, name: str, settings: dict, api: kclient.ApiClient | None = None, *,
                 cache: str):
        self.name = name
        self.parent_type_ready = False       # applyset.ensure_parent_type ran on this connection
        self.api = api if api is not None else _api_client(settings)
        host = self.api.configuration.host
        os.makedirs(cache, exist_ok=True)
        self.cache_file = os.path.join(
            cache, f"discovery-{hashlib.sha256(host.encode()).hexdigest()[:16]}.json")
        try:
            if time.time() - os.path.getmtime(self.cache_file) > DISCOVERY_TTL:
                os.unlink(self.cache_file)
        except OSError:
            pass
        try:
            self.dyn = DynamicClient(self.api, cache_file=self.cache_file)
        except (Urllib3Error, OSError) as e:
            raise Unreachable(f"{host}: {_short(e)}") from None
        except (ApiException, DynApiException) as e:
            raise Unreachable(f"{host}: discovery failed: {getattr(e, 'status', '')} {getattr(e, 'reason', '')}") from None

    def close(self) -> None:
        self.api.close()

    def resource(self, api_version: str, kind: str) -> Any:
        """Resource for a kind; a miss refreshes the cached discovery once (a new CRD)."""
        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            self.dyn.resources.invalidate_cache()
            return self.dyn.resources.get(api_version=api_version, kind=kind)

    def wait_for_kind(self, api_version: str, kind: str, deadline: float) -> None:
        """A CRD just established: discovery lags a little behind."""
        while True:
            try:
                self.resource(api_version, kind)
                return
            except ResourceNotFoundError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # -- calls ------------------------------------------------------------------------------
    def apply(self, obj: dict, manager: str, force: bool = False, dry_run: bool = False) -> dict:
        ref = ObjRef.of(obj)
        res = self.resource(ref.api_version, ref.kind)
        kw = {"dry_run": "All"} if dry_run else {}
        out = res.server_side_apply(body=obj, name=ref.name, namespace=ref.namespace or None,
                                    field_manager=manager, force_conflicts=force,
                                    _request_timeout=TIMEOUT, **kw)
        return out.to_dict()

    def get(self, ref: ObjRef) -> dict | None:
        res = self.resource(ref.api_version, ref.kind)
        try:
            return res.get(name=ref.name, namespace=ref.namespace or None, _request_timeout=TIMEOUT).to_dict()
        except DynApiException as e:
            if e.status == 404:
                return None
            raise

    def list_nodes(self) -> dict[str, dict]:
        """Every Node's metadata in one LIST (labels and managedFields are all label sets need;
        as PartialObjectMetadata, a Node's status, often tens of KB, is not sent)."""
        res = self.resource("v1", "Node")
        got = res.get(_request_timeout=TIMEOUT, header_params={"Accept": _PARTIAL_LIST})
        items = got.to_dict().get("items") or []
        return {str(i["metadata"]["name"]): i for i in items}

    def delete(self, ref: ObjRef, dry_run: bool = False) -> bool:
        """False when it was already gone."""
        try:
            res = self.resource(ref.api_version, ref.kind)
        except ResourceNotFoundError:
            return False          # its CRD went first: the object went with it
        kw = {"dry_run": "All"} if dry_run else {}
        try:
            res.delete(name=ref.name, namespace=ref.namespace or None, propagation_policy="Background",
                       _request_timeout=TIMEOUT, **kw)
        except DynApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    def token(self, namespace: str, account: str, seconds: int = 3600) -> str:
        """A bound, expiring token for a ServiceAccount (TokenRequest API)."""
        v1 = kclient.CoreV1Api(self.api)
        body = kclient.AuthenticationV1TokenRequest(spec=kclient.V1TokenRequestSpec(
            audiences=[], expiration_seconds=seconds))
        status = v1.create_namespaced_service_account_token(account, namespace, body).status
        if status is None or not status.token:
            raise ValueError(f"TokenRequest for {namespace}/{account} returned no token")
        return str(status.token)


def classify(exc: BaseException) -> ObjectError | None:
    """One line for a failed call; None when the API was not reached at all (unreachable)."""
    if isinstance(exc, (Urllib3Error, OSError, Unreachable)):
        return None
    status = int(getattr(exc, "status", 0) or 0)
    body = getattr(exc, "body", None)
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    message = str(data.get("message") or getattr(exc, "reason", "") or exc).splitlines()[0]
    if status == 409 and "conflict" in message.lower():
        managers = sorted({c.get("message", "").split('"')[1] for c in (data.get("details") or {}).get("causes") or []
                           if c.get("reason") == "FieldManagerConflict" and '"' in c.get("message", "")})
        who = ", ".join(managers) or "another field manager"
        return ObjectError(409, f"conflict with {who}: {message} (sync --force takes ownership)")
    if status == 403:
        return ObjectError(403, f"forbidden: {message}")
    if status == 422:
        return ObjectError(422, f"invalid: {message}")
    if isinstance(exc, ResourceNotFoundError):
        return ObjectError(404, f"unknown kind: {exc}")
    return ObjectError(status, f"{status or type(exc).__name__}: {message}")


def _short(e: BaseException) -> str:
    text = str(getattr(e, "reason", None) or e)
    return text.splitlines()[0][:200]


def unreachable_text(exc: BaseException, host: str) -> str:
    return f"API server {host} unreachable: {_short(exc)}"


# -- plan: a field diff without the server's bookkeeping ------------------------------------------
_NOISE_META = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation")


def _clean(obj: dict) -> dict:
    obj = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()
            if k not in _NOISE_META and v is not None}
    obj["metadata"] = meta
    return obj


def field_diff(before: dict | None, after: dict) -> list[str]:
    """`.spec.replicas: 1 -> 3` lines; managedFields, resourceVersion and status left out."""
    out: list[str] = []

    def walk(path: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                walk(f"{path}.{k}", a.get(k), b.get(k))
        elif a != b:
            out.append(f"{path or '.'}: {json.dumps(a, default=str)} -> {json.dumps(b, default=str)}")
    walk("", _clean(before or {}), _clean(after))
    return out
