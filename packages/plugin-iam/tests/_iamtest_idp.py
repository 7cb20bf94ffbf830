"""A local identity provider over TLS on 127.0.0.1, answering the ADFS IdP-initiated
sign-on form and Okta's authn / AWS-app SSO endpoints with real SAML responses."""

from __future__ import annotations

import base64
import html
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROLE_ARN = "arn:aws:iam::123456789012:role/db-federated"
IDP_ARN = "arn:aws:iam::123456789012:saml-provider/awsdb-idp"
ADFS_USER = "CORP\\alice"
ADFS_PASSWORD = "adfs-Pa55word-alice"
OKTA_USER = "alice@example.com"
OKTA_PASSWORD = "okta-Pa55word-alice"
OKTA_APP = "0oa1awsdbapp"
BODY_MARKER = "IDP-BODY-MARKER-7f3a"  # appears in every page the IdP serves


def saml_response(session_name: str) -> str:
    """A base64 SAML 2.0 response with the AWS role attributes (what moto's STS reads)."""
    xml = f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
 ID="_r1" Version="2.0" IssueInstant="2026-12-01T12:00:00Z">
<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0"
 IssueInstant="2026-12-01T12:00:00Z">
<saml:Issuer>https://idp.example.com/{BODY_MARKER}</saml:Issuer>
<saml:AttributeStatement>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">
<saml:AttributeValue>{ROLE_ARN},{IDP_ARN}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">
<saml:AttributeValue>{session_name}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/SessionDuration">
<saml:AttributeValue>900</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement></saml:Assertion></samlp:Response>"""
    return base64.b64encode(xml.encode()).decode()


def _saml_page(assertion: str) -> str:
    value = html.escape(assertion).replace("+", "&#43;")  # forces the client to unescape
    return (
        f'<html><body><!-- {BODY_MARKER} --><form method="post" '
        f'action="https://signin.aws.amazon.com/saml"><input type="hidden" '
        f'name="SAMLResponse" value="{value}" /></form></body></html>'
    )


@dataclass
class Seen:
    """One request the IdP answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]] = field(default_factory=dict)
    json: Any = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: str, ctype: str = "text/html") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.idp.seen.append(Seen("GET", url.path, query))
        if url.path == "/adfs/ls/IdpInitiatedSignOn.aspx":
            self._send(
                200,
                f'<html><body><!-- {BODY_MARKER} --><form method="post" id="loginForm" '
                'action="/adfs/ls/?SAMLRequest=abc&amp;client-request-id=42">'
                '<input id="userNameInput" name="UserName" type="email" value="" />'
                '<input id="passwordInput" name="Password" type="password" />'
                '<input id="kmsiInput" type="checkbox" name="Kmsi" value="true" />'
                '<input id="optionForms" type="hidden" name="AuthMethod" '
                'value="FormsAuthentication"/></form></body></html>',
            )
            return
        okta_sso = f"/app/amazon_aws/{OKTA_APP}/sso/saml"
        if url.path == okta_sso:
            token = query.get("onetimetoken", [""])[0]
            if token and token in self.server.idp.session_tokens:
                self._send(200, _saml_page(saml_response("alice-okta")))
            else:
                self._send(403, f"<html>{BODY_MARKER} bad session token</html>")
            return
        self._send(404, f"<html>{BODY_MARKER}</html>")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        raw = self._body()
        seen = Seen("POST", url.path, parse_qs(url.query))
        self.server.idp.seen.append(seen)
        if url.path == "/adfs/ls/":
            seen.form = parse_qs(raw.decode())
            ok = seen.form.get("UserName") == [ADFS_USER] and seen.form.get("Password") == [
                ADFS_PASSWORD
            ]
            if ok and seen.form.get("AuthMethod") == ["FormsAuthentication"]:
                self._send(200, _saml_page(saml_response("alice-adfs")))
            else:  # ADFS shows the form again with an error text
                self._send(200, f"<html>{BODY_MARKER} Incorrect user ID or password</html>")
            return
        if url.path == "/api/v1/authn":
            seen.json = json.loads(raw or b"{}")
            if seen.json == {"username": OKTA_USER, "password": OKTA_PASSWORD}:
                token = f"20111{len(self.server.idp.session_tokens)}sessiontoken{BODY_MARKER}"
                self.server.idp.session_tokens.add(token)
                self._send(
                    200,
                    json.dumps({"status": "SUCCESS", "sessionToken": token}),
                    "application/json",
                )
            else:
                self._send(
                    401,
                    json.dumps({"errorSummary": f"Authentication failed {BODY_MARKER}"}),
                    "application/json",
                )
            return
        self._send(404, f"<html>{BODY_MARKER}</html>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    idp: IdentityProvider


class IdentityProvider:
    """The server; ``endpoint`` is ``127.0.0.1`` and ``port`` its TLS port."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.seen: list[Seen] = []
        self.session_tokens: set[str] = set()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.idp = self
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = int(self._httpd.server_address[1])
        self.endpoint = "127.0.0.1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="test-idp", daemon=True
        )

    def __enter__(self) -> IdentityProvider:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)
