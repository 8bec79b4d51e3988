"""Registry look-ups before pulling: does the manifest exist, and for which platforms?

Speaks the distribution (v2) HTTP API directly: `GET /v2/<name>/manifests/<ref>` with the
OCI index / Docker manifest list Accept headers. A registry that answers 401 with
`WWW-Authenticate: Bearer realm=...,service=...,scope=...` gets the anonymous token flow
(GET realm?service=&scope=, then retry with `Authorization: Bearer`). Registries on
localhost / 127.0.0.0/8 are spoken to over plain http, as the Docker daemon does.

Credentials for private registries come from where the Docker client keeps them
(`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), in its order: the registry's
credential helper (`credHelpers.<domain>`), else the default one (`credsStore`), each run as
`docker-credential-<name> get` with the server's address on stdin (the protocol of Docker's
credential helpers), else `auths.<domain>.auth`. They are sent only in the token request (or
as Basic auth where the registry asks for it); they never appear in messages, events or
logs. An identity token (a helper's `<token>` user name) is not used: the look-up then goes
anonymous, and the pull itself, done by the engine, still has the user's login.

The API endpoint of a registry domain is the domain itself, except where
`HWDOCK_REGISTRY_ENDPOINTS` maps it (`domain=https://host,...`); the default domain of
short names ("docker.io") serves its API from its `registry-1` sub-domain, as its
documentation says.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hwdock.engine.reference import DEFAULT_DOMAIN, Reference, is_local_registry, parse_reference

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}

Opener = Callable[[urllib.request.Request, float], Any]


@dataclass
class ManifestInfo:
    reference: str
    status: str  # "found" | "not-found" | "unreachable" | "denied"
    digest: str | None = None
    media_type: str | None = None
    platforms: list[str] = field(default_factory=list)  # "linux/amd64", "linux/arm64/v8"
    detail: str = ""

    @property
    def found(self) -> bool:
        return self.status == "found"

    def has_platform(self, platform: str | None) -> bool:
        if not platform or not self.platforms:
            return True
        want = platform.split("/")
        return any(p.split("/")[: len(want)] == want for p in self.platforms)


def endpoint(domain: str) -> str:
    mapped = _endpoint_overrides().get(domain)
    if mapped:
        return mapped.rstrip("/")
    scheme = "http" if is_local_registry(domain) else "https"
    host = f"registry-1.{domain}" if domain == DEFAULT_DOMAIN else domain
    return f"{scheme}://{host}"


def _endpoint_overrides() -> dict[str, str]:
    out: dict[str, str] = {}
    for item in os.environ.get("HWDOCK_REGISTRY_ENDPOINTS", "").split(","):
        k, sep, v = item.partition("=")
        if sep and k.strip() and v.strip():
            out[k.strip()] = v.strip()
    return out


# the key the Docker client files Docker Hub's credentials under (its v1 index address)
_HUB_KEYS = {"docker.io": "https://index.docker.io/v1/"}
HELPER_TIMEOUT_S = 10.0


def _server_keys(domain: str) -> list[str]:
    keys = [domain, f"https://{domain}", f"http://{domain}", f"https://{domain}/v1/"]
    hub = _HUB_KEYS.get(domain)
    return [hub, *keys] if hub else keys


def docker_config_auth(domain: str) -> str | None:
    """The base64 `user:password` the Docker client keeps for `domain`, if any."""
    cfg_dir = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    try:
        with open(os.path.join(cfg_dir, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f) or {}
    except (OSError, ValueError):
        return None
    if not isinstance(cfg, dict):
        return None
    keys = _server_keys(domain)
    helpers = cfg.get("credHelpers") if isinstance(cfg.get("credHelpers"), dict) else {}
    helper = next((helpers[k] for k in keys if isinstance(helpers.get(k), str)), None)
    if helper is None and isinstance(cfg.get("credsStore"), str):
        helper = cfg["credsStore"]
    if helper:
        for key in keys:
            got = helper_auth(helper, key)
            if got is not None:
                return got
    auths = cfg.get("auths") if isinstance(cfg.get("auths"), dict) else {}
    for key in keys:
        auth = (auths.get(key) or {}).get("auth") if isinstance(auths.get(key), dict) else None
        if auth:
            return str(auth)
    return None


def helper_auth(helper: str, server: str) -> str | None:
    """`docker-credential-<helper> get` for `server`: base64 `user:secret`, or None when the
    helper is missing, fails, has nothing for it or holds an identity token."""
    import base64
    import shutil
    import subprocess

    if not helper.replace("-", "").replace("_", "").replace(".", "").isalnum():
        return None  # a name, never a path or a command line
    exe = shutil.which(f"docker-credential-{helper}")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None  # "credentials not found in native keychain", a locked keyring...
    try:
        doc = json.loads(out.stdout)
    except ValueError:
        return None
    user, secret = doc.get("Username"), doc.get("Secret")
    if not isinstance(user, str) or not isinstance(secret, str) or not user or not secret:
        return None
    if user == "<token>":
        return None  # an identity token is for an OAuth2 refresh flow, not Basic auth
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


def _default_opener(req: urllib.request.Request, timeout: float) -> Any:
    return urllib.request.urlopen(req, timeout=timeout)


def _parse_challenge(header: str) -> dict[str, str]:
    if not header.lower().startswith("bearer "):
        return {}
    return {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', header[7:])}


class Registry:
    def __init__(
        self,
        *,
        opener: Opener = _default_opener,
        timeout: float = 10.0,
        auth: Callable[[str], str | None] = docker_config_auth,
    ):
        self.opener = opener
        self.timeout = timeout
        self._auth = auth
        self._tokens: dict[str, str] = {}

    def _get(self, url: str, accept: str, ref: Reference) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            headers = {"Accept": accept, "User-Agent": "hwdock"}
            tok = self._tokens.get(ref.domain + "/" + ref.path)
            if tok and tok.startswith("basic:"):
                headers["Authorization"] = f"Basic {tok[6:]}"
            elif tok:
                headers["Authorization"] = f"Bearer {tok}"
            req = urllib.request.Request(url, headers=headers, method="GET")
            try:
                with self.opener(req, self.timeout) as resp:
                    return resp.status, dict(resp.headers.items()), resp.read()
            except urllib.error.HTTPError as err:
                hdrs = dict(err.headers.items()) if err.headers else {}
                if err.code == 401 and attempt == 0:
                    header = hdrs.get("WWW-Authenticate") or hdrs.get("Www-Authenticate") or ""
                    chal = _parse_challenge(header)
                    if chal.get("realm") and self._fetch_token(chal, ref):
                        continue
                    basic = self._auth(ref.domain)
                    if header.lower().startswith("basic") and basic:
                        self._tokens[ref.domain + "/" + ref.path] = "basic:" + basic
                        continue
                return err.code, hdrs, b""
        return 401, {}, b""

    def _fetch_token(self, chal: dict[str, str], ref: Reference) -> bool:
        q = {"scope": chal.get("scope") or f"repository:{ref.path}:pull"}
        if chal.get("service"):
            q["service"] = chal["service"]
        url = chal["realm"] + ("&" if "?" in chal["realm"] else "?") + urllib.parse.urlencode(q)
        req = urllib.request.Request(url)
        basic = self._auth(ref.domain)
        if basic:
            req.add_header("Authorization", f"Basic {basic}")
        try:
            with self.opener(req, self.timeout) as resp:
                data = json.loads(resp.read() or b"{}")
        except (OSError, ValueError):
            return False
        tok = data.get("token") or data.get("access_token")
        if not tok:
            return False
        self._tokens[ref.domain + "/" + ref.path] = tok
        return True

    def manifest(self, image: str) -> ManifestInfo:
        """Look `image` up; never raises for network trouble (status says what happened)."""
        ref = parse_reference(image)
        base = endpoint(ref.domain)
        url = f"{base}/v2/{ref.path}/manifests/{ref.ref}"
        try:
            status, headers, body = self._get(url, ACCEPT, ref)
        except (OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            return ManifestInfo(image, "unreachable", detail=f"{base}: {reason}")
        if status == 404:
            return ManifestInfo(image, "not-found", detail=f"{url}: 404")
        if status in (401, 403):
            return ManifestInfo(image, "denied", detail=f"{url}: {status}")
        if status != 200:
            return ManifestInfo(image, "unreachable", detail=f"{url}: HTTP {status}")
        info = ManifestInfo(
            image,
            "found",
            digest=headers.get("Docker-Content-Digest") or headers.get("docker-content-digest"),
        )
        try:
            doc = json.loads(body)
        except ValueError:
            return info
        info.media_type = doc.get("mediaType") or headers.get("Content-Type")
        if info.media_type in INDEX_TYPES or "manifests" in doc:
            for m in doc.get("manifests", []):
                p = m.get("platform") or {}
                if p.get("os") == "unknown":  # attestation manifests
                    continue
                s = f"{p.get('os', '?')}/{p.get('architecture', '?')}"
                if p.get("variant"):
                    s += f"/{p['variant']}"
                info.platforms.append(s)
        else:
            cfg = (doc.get("config") or {}).get("digest")
            if cfg:
                info.platforms = self._config_platform(base, ref, cfg)
        return info

    def _config_platform(self, base: str, ref: Reference, digest: str) -> list[str]:
        url = f"{base}/v2/{ref.path}/blobs/{digest}"
        try:
            status, _, body = self._get(url, "*/*", ref)
            if status != 200:
                return []
            cfg = json.loads(body)
        except (OSError, ValueError):
            return []
        if not cfg.get("architecture"):
            return []
        s = f"{cfg.get('os', 'linux')}/{cfg['architecture']}"
        return [s + (f"/{cfg['variant']}" if cfg.get("variant") else "")]
