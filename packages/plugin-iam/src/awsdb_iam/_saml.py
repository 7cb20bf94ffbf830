"""The identity-provider side of federation: ADFS form login and Okta authn, to a SAML
assertion (aurora-facts §10.3 and §10.4).

HTTP goes through ``requests`` with TLS verification on by default (``idp_ca_bundle``
names a CA bundle; ``ssl_secure=false`` turns verification off and logs a warning). Any
2xx status is a success. Errors name the step, the URL without its query string and the
HTTP status; they never carry a response body, a password, a session token or the
assertion.
"""

from __future__ import annotations

import html
import logging
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urljoin, urlsplit

from awsdb.errors import ProgrammingError
from awsdb_iam._errors import IdentityProviderError
from awsdb_iam._props import (
    APP_ID,
    HTTP_REQUEST_CONNECT_TIMEOUT,
    IDP_CA_BUNDLE,
    IDP_ENDPOINT,
    IDP_PASSWORD,
    IDP_PORT,
    IDP_USERNAME,
    RP_IDENTIFIER,
    SSL_SECURE,
)

if TYPE_CHECKING:
    from awsdb.properties import Properties
    from awsdb_iam._state import AuthState

__all__ = ["adfs_assertion", "okta_assertion"]

_log = logging.getLogger("awsdb_iam")


class _Http(NamedTuple):
    verify: bool | str
    timeout: float


class _FormParser(HTMLParser):
    """The first form's action and every input's (name, value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.inputs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "form" and self.action is None and "action" in values:
            self.action = values["action"]
        elif tag == "input" and values.get("name"):
            self.inputs.append((values["name"], values.get("value", "")))


def _required(props: Properties, prop: Any, code: str) -> str:
    value = props.get(prop)
    if not value:
        raise ProgrammingError(f"{code}: the {prop.name} property is required")
    return str(value)


def _http(props: Properties, code: str) -> _Http:
    timeout = float(props.get(HTTP_REQUEST_CONNECT_TIMEOUT))
    if not props.get(SSL_SECURE):
        _log.warning(
            "%s: ssl_secure=false: the identity provider's TLS certificate is NOT verified", code
        )
        return _Http(False, timeout)
    bundle = props.get(IDP_CA_BUNDLE)
    return _Http(str(bundle) if bundle else True, timeout)


def _endpoint(props: Properties, code: str) -> str:
    endpoint = _required(props, IDP_ENDPOINT, code).strip().rstrip("/")
    if endpoint.startswith("https://"):
        endpoint = endpoint[len("https://") :]
    if "://" in endpoint or "/" in endpoint:
        raise ProgrammingError(
            f"{code}: idp_endpoint must be a host name (optionally host:port), not {endpoint!r}"
        )
    return endpoint


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _request(
    state: AuthState, code: str, step: str, method: str, url: str, http: _Http, **kw: Any
) -> Any:
    import requests

    state.guard_logs()
    try:
        response = requests.request(
            method, url, verify=http.verify, timeout=(http.timeout, http.timeout), **kw
        )
    except requests.exceptions.SSLError:
        raise IdentityProviderError(
            f"{code}: {step}: TLS verification of {_shown(url)} failed (give the CA bundle "
            "that signs the identity provider's certificate in idp_ca_bundle)"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise IdentityProviderError(
            f"{code}: {step}: {_shown(url)} could not be reached ({type(exc).__name__})"
        ) from None
    if not 200 <= response.status_code < 300:
        status = response.status_code
        response.close()
        raise IdentityProviderError(f"{code}: {step}: {_shown(url)} answered HTTP {status}")
    return response


def _saml_from_html(state: AuthState, code: str, step: str, url: str, text: str) -> str:
    parser = _FormParser()
    parser.feed(text)
    for name, value in parser.inputs:
        if name == "SAMLResponse" and value:
            assertion = html.unescape(value)
            state.remember_secret(assertion)
            return assertion
    raise IdentityProviderError(
        f"{code}: {step}: the answer of {_shown(url)} holds no SAMLResponse (wrong "
        "credentials, or a login step awsdb does not support such as MFA)"
    )


def adfs_assertion(props: Properties, state: AuthState, code: str = "federated_auth") -> str:
    """Log in to ADFS with the IdP-initiated sign-on form; return the SAML assertion."""
    http = _http(props, code)
    host = _endpoint(props, code)
    user = _required(props, IDP_USERNAME, code)
    password = _required(props, IDP_PASSWORD, code)
    state.remember_secret(password)
    base = f"https://{host}:{int(props.get(IDP_PORT))}"
    rp = quote(str(props.get(RP_IDENTIFIER)), safe="")
    sign_in = f"{base}/adfs/ls/IdpInitiatedSignOn.aspx?loginToRp={rp}"
    with _request(state, code, "sign-in page", "GET", sign_in, http) as page:
        form = _FormParser()
        form.feed(page.text)
    if form.action is None:
        raise IdentityProviderError(f"{code}: sign-in page: {_shown(sign_in)} has no form")
    action = html.unescape(form.action)
    if action.startswith("/"):
        action = base + action
    elif "://" not in action:
        action = urljoin(sign_in, action)
    if not action.startswith("https://"):
        raise IdentityProviderError(
            f"{code}: sign-in page: the form posts to {_shown(action)}, not to an https URL; "
            "refusing to send the password"
        )
    fields: dict[str, str] = {}
    for name, value in form.inputs:
        lowered = name.lower()
        if "username" in lowered:
            fields[name] = user
        elif "password" in lowered:
            fields[name] = password
        elif "authmethod" in lowered:
            if value:
                fields[name] = value
        else:
            fields[name] = value
    with _request(state, code, "sign-in", "POST", action, http, data=fields) as answer:
        return _saml_from_html(state, code, "sign-in", action, answer.text)


def okta_assertion(props: Properties, state: AuthState, code: str = "okta") -> str:
    """Log in to Okta (authn API, session token, AWS app SSO); return the SAML assertion."""
    http = _http(props, code)
    host = _endpoint(props, code)
    user = _required(props, IDP_USERNAME, code)
    password = _required(props, IDP_PASSWORD, code)
    app_id = _required(props, APP_ID, code)
    state.remember_secret(password)
    authn = f"https://{host}/api/v1/authn"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    body = {"username": user, "password": password}
    with _request(state, code, "authn", "POST", authn, http, json=body, headers=headers) as r:
        try:
            reply = r.json()
        except ValueError:
            reply = None
    token = reply.get("sessionToken") if isinstance(reply, dict) else None
    if not isinstance(token, str) or not token:
        status = reply.get("status") if isinstance(reply, dict) else None
        raise IdentityProviderError(
            f"{code}: authn: {_shown(authn)} returned no sessionToken"
            + (f" (status {status!s:.40})" if status else "")
        )
    state.remember_secret(token)
    sso = f"https://{host}/app/amazon_aws/{quote(app_id, safe='')}/sso/saml"
    with _request(state, code, "sso", "GET", sso, http, params={"onetimetoken": token}) as r:
        return _saml_from_html(state, code, "sso", sso, r.text)
