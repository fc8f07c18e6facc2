"""Rules about login: Dex's config and issuer, the issuer oauth2-proxy and the gateway expect,
and cookies' `Secure` flag against the scheme browsers use."""

from __future__ import annotations

import re
from typing import Any

import yaml

from kfops.catalog import ObjectRef, Settings
from kfops.objects import container_env

from ._facts import InstallFacts
from ._findings import Finding
from ._gateway_rules import SECURITY, browser_scheme
from ._scope import APPLY, failing_pod_of
from ._snapshot import Snapshot

APPS = "apps/v1"
DEX_KEY = "config.yaml"
COOKIE_SECURE_ENV = "OAUTH2_PROXY_COOKIE_SECURE"
TRUE = frozenset({"1", "t", "true"})
"""What Go's strconv.ParseBool (oauth2-proxy's flags) reads as true, case-insensitively."""
# What Dex says of a config it cannot use: it unmarshals the file before anything else
# (dexidp/dex cmd/dex/serve.go) and then validates it; the kubelet, of a missing key.
PARSE_ERROR = ("error parse config file", "error parse config file /etc/dex/cfg/config.yaml")
NO_ISSUER = ("invalid Config", "invalid Config: no issuer specified in config file")
MOUNT_FAILS = ("MountVolume.SetUp failed",
               "MountVolume.SetUp failed: configmap references non-existent config key")
NO_HAND_EDITS = ("never hand-edit Dex's ConfigMap: kfops apply writes it again from spec.auth "
                 "(users, connectors), spec.ingress.host and spec.tls.mode")


def dex_config(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Dex's config.yaml does not parse, has no issuer, or its issuer is not the one the host
    needs (or not the one oauth2-proxy and the gateway's JWT check expect)."""
    settings = facts.settings
    dex = settings.dex_deployment
    if snapshot.find(APPS, dex.kind, dex.name, dex.namespace) is None:
        return []  # no Dex in this install (workload-unavailable names a missing one)
    ref = settings.dex_config
    config_map = snapshot.find("v1", ref.kind, ref.name, ref.namespace)
    where = f"{ref.kind} {ref.namespace}/{ref.name} key {DEX_KEY}"
    text = ((config_map or {}).get("data") or {}).get(DEX_KEY)
    if text is None:
        return [_broken(snapshot, settings, f"{where} is missing", MOUNT_FAILS)]
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return [_broken(snapshot, settings, f"{where} does not parse: {_yaml_problem(error)}")]
    if not isinstance(config, dict):
        return [_broken(snapshot, settings, f"{where} is not a YAML mapping")]
    if not config.get("issuer"):
        return [_broken(snapshot, settings, f"{where} has no issuer", NO_ISSUER)]
    return _issuers(snapshot, facts, where, str(config["issuer"]))


def _broken(snapshot: Snapshot, settings: Settings, line: str,
            dex_says: tuple[str, str] = PARSE_ERROR) -> Finding:
    said = _dex_crash(snapshot, settings.dex_deployment) or (
        f"Dex cannot start: '{dex_says[1]}' (its pod restarts in CrashLoopBackOff or waits)")
    return Finding("dex-config", "failure", f"Dex crashes on its config ({dex_says[0]})",
                   (line, said),
                   f"{APPLY} to write the config from platform.yaml again; {NO_HAND_EDITS}")


def _dex_crash(snapshot: Snapshot, ref: ObjectRef) -> str | None:
    """The line a crash-looping Dex pod last logged about its config (its log read only here,
    once the config is known to be broken)."""
    namespace = str(ref.namespace)
    deployment = snapshot.find(APPS, ref.kind, ref.name, namespace)
    if deployment is None:
        return None
    failure = failing_pod_of(snapshot, deployment)
    if failure is None or failure.reason != "CrashLoopBackOff" or not failure.container:
        return None
    log = snapshot.log(namespace, failure.pod, failure.container) or ""
    lines = [line.strip() for line in log.splitlines()
             if "error parse config file" in line or "invalid Config" in line]
    return f"pod {failure.pod} ({failure.reason}) logged: {lines[-1]}" if lines else None


def _yaml_problem(error: yaml.YAMLError) -> str:
    # Line and column only: a hand-edited line may hold a client secret or a password hash.
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or type(error).__name__
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _issuers(snapshot: Snapshot, facts: InstallFacts, where: str,
             issuer: str) -> list[Finding]:
    expected, why = _expected_issuer(facts)
    said = [(f"Dex's issuer ({where})", issuer)]
    said += _oauth2_proxy_issuer(snapshot, facts.settings)
    said += _jwt_issuers(snapshot, facts.settings.jwt_authentication)
    wanted = expected or str(issuer)
    if all(value == wanted for _, value in said):
        return []
    evidence = [f"{what}: {value}" + ("" if value == wanted else f" (expected {wanted})")
                for what, value in said]
    if expected:
        evidence.insert(0, f"{why} make the issuer {expected}")
    # go-oidc's check in oauth2-proxy (kubeflow/kubeflow#4517) and Istio's JWT filter.
    evidence.append("oauth2-proxy then refuses Dex's tokens ('oidc: id token issued by a "
                    "different provider') and the gateway answers 'Jwt issuer is not "
                    "configured'")
    summary = ("OIDC issuer does not match the host" if facts.host and issuer != expected
               else "OIDC issuer differs between Dex, oauth2-proxy and the gateway")
    return [Finding("dex-config", "failure", summary, tuple(evidence),
                    f"set spec.ingress.host (and spec.tls.mode) in platform.yaml and run "
                    f"{APPLY}: it gives Dex, oauth2-proxy and the gateway's "
                    f"RequestAuthentication one issuer; {NO_HAND_EDITS}")]


def _expected_issuer(facts: InstallFacts) -> tuple[str | None, str]:
    """(the issuer kfops renders, why): on the host when one is known; without a host in the
    platform file, Dex's in-cluster URL; None when doctor cannot know."""
    if facts.expected_issuer is not None:
        return facts.expected_issuer, f"spec.ingress.host {facts.host} and spec.tls.mode"
    if facts.source == "file" and facts.host is None:
        return (facts.settings.dex_internal_issuer,
                "without spec.ingress.host, platform.yaml and kfops")
    return None, ""


def _oauth2_proxy_issuer(snapshot: Snapshot, settings: Settings) -> list[tuple[str, str]]:
    found = _oauth2_proxy_setting(snapshot, settings, "oidc_issuer_url")
    return [found] if found else []


def _oauth2_proxy_setting(snapshot: Snapshot, settings: Settings,
                          name: str) -> tuple[str, str] | None:
    """(where, value) of one setting of oauth2-proxy's config file (oauth2_proxy.cfg, TOML),
    read from the ConfigMaps its Deployment mounts (their names carry kustomize hashes)."""
    ref = settings.oauth2_proxy
    deployment = snapshot.find(APPS, ref.kind, ref.name, ref.namespace)
    if deployment is None:
        return None
    volumes = deployment["spec"]["template"]["spec"].get("volumes") or []
    key = settings.oauth2_proxy_config_key
    pattern = re.compile(rf'^\s*{re.escape(name)}\s*=\s*"?([^"\n]*?)"?\s*$', re.MULTILINE)
    for volume in volumes:
        config_map = str((volume.get("configMap") or {}).get("name"))
        text = ((snapshot.find("v1", "ConfigMap", config_map, ref.namespace) or {}).get("data")
                or {}).get(key)
        found = pattern.search(text or "")
        if found:
            return (f"oauth2-proxy's {name} (ConfigMap {ref.namespace}/{config_map} key {key})",
                    found.group(1))
    return None


def _jwt_issuers(snapshot: Snapshot, ref: ObjectRef) -> list[tuple[str, str]]:
    found = snapshot.find(SECURITY, ref.kind, ref.name, ref.namespace) or {}
    rules = (found.get("spec") or {}).get("jwtRules") or []
    return [(f"{ref.kind} {ref.namespace}/{ref.name} jwtRules[{index}].issuer",
             str(rule.get("issuer")))
            for index, rule in enumerate(rules)]


def secure_cookies(snapshot: Snapshot, facts: InstallFacts) -> list[Finding]:
    """Cookies marked `Secure` while browsers use plain HTTP (they are dropped: the web
    apps' CSRF check refuses every form, oauth2-proxy's login loops); the reverse warns."""
    https, how = browser_scheme(snapshot, facts)
    flags = _cookie_flags(snapshot, facts.settings)
    wrong = [what for what, secure in flags if secure != https]
    if not wrong:
        return []
    if https:
        return [Finding("secure-cookies", "warning",
                        "cookies are not marked Secure although browsers use HTTPS",
                        (how, *wrong),
                        f"{APPLY}: with spec.tls.mode set, kfops turns oauth2-proxy's "
                        "cookie-secure and the web apps' APP_SECURE_COOKIES on")]
    # Browsers drop Secure cookies over plain HTTP: the CRUD web apps then answer "Could not
    # find CSRF cookie XSRF-TOKEN in the request" (kubeflow/kubeflow#5803), oauth2-proxy's
    # session cookie never comes back and the login page returns again.
    return [Finding("secure-cookies", "failure",
                    "secure cookies over plain HTTP: web app forms fail (CSRF cookie not sent, "
                    "'Could not find CSRF cookie XSRF-TOKEN in the request') and login loops",
                    (how, *wrong),
                    "serve HTTPS: set spec.ingress.host and spec.tls.mode (selfSigned or acme) "
                    f"in platform.yaml; or stay on plain HTTP and run {APPLY}, which sets "
                    "oauth2-proxy's cookie-secure and APP_SECURE_COOKIES to match spec.tls.mode")]


def _cookie_flags(snapshot: Snapshot, settings: Settings) -> list[tuple[str, bool]]:
    """(what sets it, whether the cookie is Secure) for oauth2-proxy and each web app."""
    flags = []
    ref = settings.oauth2_proxy
    deployment = snapshot.find(APPS, ref.kind, ref.name, ref.namespace)
    if deployment is not None:
        # The environment wins over the config file; oauth2-proxy's default is Secure.
        in_file = _oauth2_proxy_setting(snapshot, settings, "cookie_secure")
        default = (f"{in_file[0]} = {in_file[1]}", in_file[1].lower() in TRUE) if in_file \
            else ("oauth2-proxy's default --cookie-secure=true", True)
        flags += _flag(snapshot, deployment, COOKIE_SECURE_ENV, default)
    for app in settings.secure_cookie_apps:
        deployment = snapshot.find(APPS, app.kind, app.name, app.namespace)
        if deployment is not None:
            # The CRUD web apps set Secure unless told otherwise (kubeflow/kubeflow#5764).
            flags += _flag(snapshot, deployment, settings.secure_cookie_env,
                           ("the web app's default: Secure", True))
    return flags


def _flag(snapshot: Snapshot, deployment: dict[str, Any], env: str,
          default: tuple[str, bool]) -> list[tuple[str, bool]]:
    """[(what, secure)], or [] when the value cannot be read (a Secret's, or missing)."""
    metadata = deployment["metadata"]
    namespace = str(metadata.get("namespace"))
    what = f"Deployment {namespace}/{metadata['name']}: {env}"
    for container in deployment["spec"]["template"]["spec"].get("containers") or []:
        entry = container_env(container, env)
        if entry is None:
            continue
        value, source = _env_value(snapshot, namespace, entry)
        if value is None:
            return []
        return [(f"{what}={value!r}{source}", value.strip().lower() in TRUE)]
    return [(f"{what} is not set ({default[0]})", default[1])]


def _env_value(snapshot: Snapshot, namespace: str,
               entry: dict[str, Any]) -> tuple[str | None, str]:
    """(an env var's value, where it comes from) for a literal or a ConfigMap key; None for
    what doctor does not read (Secrets) or cannot find."""
    if not entry.get("valueFrom"):
        return str(entry.get("value") or ""), ""
    reference = entry["valueFrom"].get("configMapKeyRef") or {}
    if not reference:
        return None, ""
    name, key = str(reference.get("name")), str(reference.get("key"))
    value = ((snapshot.find("v1", "ConfigMap", name, namespace) or {}).get("data") or {}).get(key)
    return (None if value is None else str(value)), f" (ConfigMap {namespace}/{name} key {key})"
