"""Login refusals: no way in, Kubeflow's published password, connectors without a host."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfops.config import parse_platform
from kfops.errors import ConfigError
from tests.helpers.presets import render_preset

DEFAULT_HASH = "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72"
HEAD = "apiVersion: kfops.io/v1alpha1\nkind: Platform\nspec:\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_platform(text, Path("/x/platform.yaml"))
    return [str(p) for p in caught.value.problems]


def test_a_non_local_platform_without_a_way_to_log_in_is_refused() -> None:
    [line] = problems(HEAD + "  target: onprem\n")
    assert line.startswith("platform.yaml:3 spec.auth: no one could log in: Kubeflow's default "
                           "user user@example.com is only kept for target local; add "
                           "spec.auth.users")


def test_users_need_password_login_and_connectors_need_a_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSO_CLIENT_SECRET", "from-the-provider")
    lines = problems(HEAD + (
        "  target: local\n"
        "  auth:\n"
        "    passwordLogin: false\n"
        "    users: [{email: a@example.com, passwordHash: "
        "'$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe'}]\n"
        "    connectors: [{type: oidc, id: sso, name: SSO, clientID: x,\n"
        "                  clientSecret: {env: SSO_CLIENT_SECRET}, config: {issuer: 'https://sso'}}]\n"))
    assert lines == [
        "platform.yaml:7 spec.auth.users: static users need spec.auth.passwordLogin: true",
        "platform.yaml:8 spec.auth.connectors: connectors need spec.ingress.host: the identity "
        "provider sends users back to https://<host>/dex/callback",
    ]


def test_connector_settings_dex_needs_are_required() -> None:
    lines = problems(HEAD + (
        "  target: local\n  ingress: {host: kf.example.com}\n  auth:\n    connectors:\n"
        "    - {type: oidc, id: sso, name: SSO, clientID: x, clientSecret: {generate: true}}\n"
        "    - {type: ldap, id: corp, name: Corp, config: {host: 'ldap:636',\n"
        "       redirectURI: 'https://elsewhere/dex/callback', userSearch: {}}}\n"))
    assert lines == [
        "platform.yaml:8 spec.auth.connectors[0]: oidc connectors need config.issuer",
        "platform.yaml:9 spec.auth.connectors[1]: leave out config.redirectURI: kfops sets it "
        "to <ingress.host>/dex/callback",
    ]


def test_kubeflows_published_password_is_never_a_users_hash(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        render_preset(tmp_path, "generic", "26.03", lambda text: text.replace(
            "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFr4LCP9UeYRf09v1pKzIxe", DEFAULT_HASH))
    [problem] = caught.value.problems
    assert problem.path == "spec.auth.users[0].passwordHash"
    assert problem.message.startswith("this is Kubeflow's published default password (12341234)")
