"""Where the settings kfops changes live in a release's objects (kind, namespace, name, keys)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectRef:
    """One object of the release: `kind namespace/name`."""

    kind: str
    name: str
    namespace: str | None = None


@dataclass(frozen=True)
class Credential:
    """A value the release ships fixed in a Secret, which kfops generates per install."""

    secret: ObjectRef
    key: str
    state_name: str
    """Its name in the state directory."""
    upstream_value: str
    length: int = 32
    database: bool = False
    """A database server also keeps it from its first start (MYSQL_ROOT_PASSWORD): a new
    value in the Secret alone would lock its readers out, so rotation leaves it alone."""


@dataclass(frozen=True)
class Settings:
    """The objects and fields that environment, identity and credential features edit."""

    gateway_service: ObjectRef = ObjectRef("Service", "istio-ingressgateway", "istio-system")
    gateway: ObjectRef = ObjectRef("Gateway", "kubeflow-gateway", "kubeflow")
    gateway_namespace: str = "istio-system"
    """Where the ingress gateway runs: Gateway credentials and Certificates live here."""
    auth_policies: tuple[ObjectRef, ...] = (
        ObjectRef("AuthorizationPolicy", "istio-ingressgateway-oauth2-proxy", "istio-system"),
        ObjectRef("AuthorizationPolicy", "istio-ingressgateway-require-jwt", "istio-system"),
    )
    """The gateway's CUSTOM (oauth2-proxy) and DENY (require JWT) policies, with `notPaths`."""
    self_signed_issuer: str = "kubeflow-self-signing-issuer"
    """The release's self-signed ClusterIssuer (unused upstream; kfops issues from it)."""
    cert_manager_namespace: str = "cert-manager"
    """cert-manager's cluster resource namespace: ClusterIssuer secrets live here."""

    dex_config: ObjectRef = ObjectRef("ConfigMap", "dex", "auth")
    """Dex's configuration, key `config.yaml`."""
    dex_deployment: ObjectRef = ObjectRef("Deployment", "dex", "auth")
    dex_client: ObjectRef = ObjectRef("Secret", "dex-oidc-client", "auth")
    """OIDC_CLIENT_ID/OIDC_CLIENT_SECRET of oauth2-proxy's static client (Dex reads them via
    envFrom)."""
    dex_passwords: ObjectRef = ObjectRef("Secret", "dex-passwords", "auth")
    """bcrypt hashes of static users, read by Dex via envFrom (`hashFromEnv`)."""
    dex_connector_secrets: str = "dex-connectors"
    """The Secret kfops adds for connector credentials (Dex expands `$VAR` in connector config)."""
    dex_internal_issuer: str = "http://dex.auth.svc.cluster.local:5556/dex"
    oauth2_proxy: ObjectRef = ObjectRef("Deployment", "oauth2-proxy", "oauth2-proxy")
    """Reads client and cookie secrets (Secret) and cookie-secure (ConfigMap) from env refs."""
    oauth2_proxy_config_key: str = "oauth2_proxy.cfg"
    jwt_authentication: ObjectRef = ObjectRef("RequestAuthentication", "dex-jwt", "istio-system")
    dashboard: ObjectRef = ObjectRef("Deployment", "centraldashboard", "kubeflow")
    registration_flow_env: str = "REGISTRATION_FLOW"
    secure_cookie_apps: tuple[ObjectRef, ...] = (
        ObjectRef("Deployment", "jupyter-web-app-deployment", "kubeflow"),
        ObjectRef("Deployment", "volumes-web-app-deployment", "kubeflow"),
        ObjectRef("Deployment", "tensorboards-web-app-deployment", "kubeflow"),
        ObjectRef("Deployment", "kserve-models-web-app", "kubeflow"),
    )
    secure_cookie_env: str = "APP_SECURE_COOKIES"
    spawner_config_prefix: str = "jupyter-web-app-config-"
    """The Jupyter web app's ConfigMap (a kustomize generator name with a hash suffix)."""
    spawner_config_key: str = "spawner_ui_config.yaml"
    spawner_deployment: ObjectRef = ObjectRef("Deployment", "jupyter-web-app-deployment",
                                              "kubeflow")
    default_user: str = "user@example.com"
    default_user_hash_env: str = "DEX_USER_PASSWORD"
    default_user_hash: str = "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72"
    """bcrypt of 12341234, Kubeflow's documented default password."""
    example_profile: ObjectRef = ObjectRef("Profile", "kubeflow-user-example-com")
    upstream_oidc_client_secret: str = "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok"
    upstream_cookie_secret: str = "7d16fee92f8d11b8940b081b3f8b8acb"
    credentials: tuple[Credential, ...] = (
        Credential(ObjectRef("Secret", "katib-mysql-secrets", "kubeflow"), "MYSQL_ROOT_PASSWORD",
                   "katib-mysql-password", "test", database=True),
        Credential(ObjectRef("Secret", "mysql-secret", "kubeflow"), "password",
                   "pipelines-mysql-password", "", database=True),
        Credential(ObjectRef("Secret", "mlpipeline-minio-artifact", "kubeflow"), "accesskey",
                   "object-store-access-key", "minio", 20),
        Credential(ObjectRef("Secret", "mlpipeline-minio-artifact", "kubeflow"), "secretkey",
                   "object-store-secret-key", "minio123", 40),
        Credential(ObjectRef("Secret", "model-registry-db-secrets", "kubeflow"),
                   "MYSQL_ROOT_PASSWORD", "model-registry-mysql-password", "test", database=True),
    )
    pipelines_database: ObjectRef = ObjectRef("Deployment", "mysql", "kubeflow")
    """Pipelines' MySQL server: upstream runs it with an empty root password."""


DEFAULT_SETTINGS = Settings()
