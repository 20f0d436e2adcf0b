"""`http_config`: the HTTP client settings of a receiver (or of `global`), as in
Prometheus and Alertmanager, without OAuth2."""

from __future__ import annotations

from pydantic import model_validator

from alertd.config.amtypes import HttpURL, Unsupported, unsupported
from alertd.config.types import (
    Model,
    NonEmptyStr,
    Secret,
    SecretFile,
    TLSConfig,
    at_most_one,
    raise_problems,
)

__all__ = ["Authorization", "HTTPBasicAuth", "HTTPConfig"]


class HTTPBasicAuth(Model):
    username: str
    password: Secret | None = None
    password_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> HTTPBasicAuth:
        raise_problems(at_most_one(self, "password"))
        return self


class Authorization(Model):
    type: NonEmptyStr = "Bearer"
    credentials: Secret | None = None
    credentials_file: SecretFile | None = None

    @model_validator(mode="after")
    def _check(self) -> Authorization:
        problems = []
        if self.type.lower() == "basic":
            problems.append('type cannot be "Basic": use basic_auth instead')
        problems += at_most_one(self, "credentials")
        raise_problems(problems)
        return self


class HTTPConfig(Model):
    """`http_config`, as in Prometheus and Alertmanager (without OAuth2)."""

    basic_auth: HTTPBasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: Secret | None = None
    bearer_token_file: SecretFile | None = None
    tls_config: TLSConfig | None = None
    proxy_url: HttpURL | None = None
    follow_redirects: bool = True
    enable_http2: bool = True
    oauth2: Unsupported = unsupported()
    no_proxy: Unsupported = unsupported()
    proxy_from_environment: Unsupported = unsupported()
    proxy_connect_header: Unsupported = unsupported()

    @model_validator(mode="after")
    def _check(self) -> HTTPConfig:
        given = [name for name in ("basic_auth", "authorization", "bearer_token",
                                   "bearer_token_file") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError("set at most one of basic_auth, authorization, bearer_token and "
                             f"bearer_token_file (found {' and '.join(given)})")
        return self
