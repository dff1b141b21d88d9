"""The OpenID Connect provider, driven over HTTP by an ordinary client library (Authlib).

The live-server tests run a real server thread; a ``requests.Session`` plays the person's browser
(logging in through the portal's login form) and Authlib's ``OAuth2Session`` plays the department
system. ID tokens are checked against the published JWKS with joserfc.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from oauth2_provider.models import AccessToken, Grant
from oauth2_provider.settings import oauth2_settings

from tongban.core.models import AuditEvent
from tongban.identity import services
from tongban.identity.models import Department, User
from tongban.identity.services.clients import ClientCredentials
from tongban.identity.tests.factories import TEST_PASSWORD, DepartmentFactory, StaffFactory

REDIRECT_URI = "https://bdc.example.gov.cn/oidc/callback"
LOGOUT_URI = "https://bdc.example.gov.cn/goodbye"
TIMEOUT = 20

live = pytest.mark.django_db(transaction=True)


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def issuer(live_server: Any, settings: Any) -> str:
    """Make the live server the issuer. Assigning the setting fires ``setting_changed``, which
    makes DOT reload ``oauth2_settings``; the assertion proves it did."""
    url = live_server.url
    settings.PUBLIC_URL = url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": url}
    settings.STAFF_2FA = "optional"
    assert url == oauth2_settings.OIDC_ISS_ENDPOINT
    return url


@pytest.fixture
def metadata(issuer: str) -> dict[str, Any]:
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def rp(department: Department) -> ClientCredentials:
    return services.client_register(
        name="不动产登记系统",
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[LOGOUT_URI],
        department=department,
        by=None,
    )


_open_sessions: list[requests.Session] = []


@pytest.fixture(autouse=True)
def _close_sessions() -> Any:
    """Close every HTTP session a test opened, so no kept-alive connection outlives the test."""
    yield
    while _open_sessions:
        _open_sessions.pop().close()


def browser() -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    _open_sessions.append(session)
    return session


def login_through_portal(session: requests.Session, login_url: str, identifier: str) -> str:
    """Fill in the portal's login form at ``login_url`` (which carries ``next``); return where it sends us."""
    page = session.get(login_url, timeout=TIMEOUT)
    assert page.status_code == 200
    next_url = parse_qs(urlsplit(login_url).query)["next"][0]
    response = session.post(
        urljoin(login_url, "/login/"),
        data={
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "identifier": identifier,
            "password": TEST_PASSWORD,
            "next": next_url,
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 302, response.text[:500]
    return urljoin(login_url, response.headers["Location"])


class Trip:
    """Where a browser ends up after following the portal's redirects from one URL."""

    def __init__(self, location: str, logged_in: bool) -> None:
        self.location = location
        self.logged_in = logged_in

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


def follow(session: requests.Session, issuer: str, url: str, identifier: str | None = None) -> Trip:
    """Follow redirects inside the portal (logging in when sent to the login page) until one leaves it."""
    logged_in = False
    for _hop in range(10):
        response = session.get(url, allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == 302, f"{url} answered {response.status_code}: {response.text[:300]}"
        location = urljoin(url, response.headers["Location"])
        if not location.startswith(issuer):
            return Trip(location, logged_in)
        if urlsplit(location).path == "/login/":
            assert identifier is not None, "unexpectedly sent to the login page"
            location = login_through_portal(session, location, identifier)
            logged_in = True
        url = location
    raise AssertionError("too many redirects")


def relying_party(rp: ClientCredentials, scope: str = "openid profile identity") -> OAuth2Session:
    return system_session(
        rp.application.client_id,
        rp.client_secret,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def system_session(client_id: str, client_secret: str | None, **kwargs: Any) -> OAuth2Session:
    """Authlib's client, as a department system would use it."""
    session = OAuth2Session(client_id, client_secret, **kwargs)
    _open_sessions.append(session)
    return session


class CodeFlow:
    """One authorization request of the relying party, carried through the browser."""

    def __init__(self, client: OAuth2Session, metadata: dict[str, Any]) -> None:
        self.client = client
        self.metadata = metadata
        self.verifier = generate_token(48)
        self.nonce = generate_token(20)
        self.url, self.state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=self.verifier, nonce=self.nonce
        )

    def run(self, session: requests.Session, issuer: str, identifier: str | None) -> Trip:
        return follow(session, issuer, self.url, identifier)

    def exchange(self, trip: Trip) -> dict[str, Any]:
        return dict(
            self.client.fetch_token(
                self.metadata["token_endpoint"],
                authorization_response=trip.location,
                code_verifier=self.verifier,
            )
        )


def validate_id_token(
    id_token: str, metadata: dict[str, Any], *, client_id: str, nonce: str
) -> dict[str, Any]:
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=TIMEOUT).json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(token.claims)
    return dict(token.claims)


def raw_token_request(metadata: dict[str, Any], rp: ClientCredentials, **data: str) -> requests.Response:
    return requests.post(
        metadata["token_endpoint"],
        data=data,
        auth=(rp.application.client_id, rp.client_secret or ""),
        timeout=TIMEOUT,
    )


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# --- discovery -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_discovery_is_served_at_the_root_and_under_o_with_absolute_endpoints(
    client: Client, settings: Any
) -> None:
    root = client.get("/.well-known/openid-configuration").json()
    under_o = client.get("/o/.well-known/openid-configuration").json()
    assert root == under_o
    assert root["issuer"] == settings.PUBLIC_URL
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ):
        assert root[key].startswith(settings.PUBLIC_URL + "/o/"), key
    assert root["jwks_uri"] == settings.PUBLIC_URL + "/o/.well-known/jwks.json"
    assert root["code_challenge_methods_supported"] == ["S256"]
    assert root["response_types_supported"] == ["code"]
    assert set(root["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert {
        "sub",
        "name",
        "account_kind",
        "resident_id_masked",
        "real_name_level",
        "department",
        "roles",
    } <= set(root["claims_supported"])
    keys = client.get("/o/.well-known/jwks.json").json()["keys"]
    assert keys
    assert keys[0]["kty"] == "RSA"
    assert "d" not in keys[0]  # the public half only


@live
def test_discovery_follows_the_configured_issuer(metadata: dict[str, Any], issuer: str) -> None:
    assert metadata["issuer"] == issuer
    assert metadata["authorization_endpoint"] == f"{issuer}/o/authorize/"
    assert metadata["token_endpoint"] == f"{issuer}/o/token/"


# --- the code flow ---------------------------------------------------------------------------


@live
def test_code_flow_with_pkce_end_to_end(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    session = browser()
    flow = CodeFlow(relying_party(rp), metadata)
    trip = flow.run(session, issuer, citizen.resident_id)

    # Anonymous at /o/authorize: sent to the portal login, back, then straight to the system (no consent
    # screen for a registered government system) with a code, the state and the RFC 9207 issuer.
    assert trip.logged_in
    assert trip.location.startswith(REDIRECT_URI + "?")
    assert trip.params["state"] == flow.state
    assert trip.params["iss"] == issuer
    assert trip.params["code"]

    token = flow.exchange(trip)
    assert token["token_type"] == "Bearer"
    assert token["refresh_token"]
    claims = validate_id_token(
        token["id_token"], metadata, client_id=rp.application.client_id, nonce=flow.nonce
    )
    assert claims["sub"] == str(citizen.pk)
    assert claims["name"] == citizen.name
    assert claims["account_kind"] == "citizen"
    assert claims["resident_id_masked"] == citizen.masked_resident_id
    assert citizen.resident_id
    assert citizen.resident_id not in json.dumps(claims)
    assert claims["real_name_level"] == 1
    assert "department" not in claims
    assert "roles" not in claims

    userinfo = flow.client.get(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    assert userinfo.status_code == 200
    info = userinfo.json()
    assert info["sub"] == str(citizen.pk)
    assert info["name"] == citizen.name
    assert info["account_kind"] == "citizen"
    assert info["resident_id_masked"] == citizen.masked_resident_id
    assert info["real_name_level"] == 1

    # The platform's own API accepts the access token as a bearer token.
    me = requests.get(
        f"{issuer}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=TIMEOUT
    )
    assert me.status_code == 200
    assert me.json()["sub"] == str(citizen.pk)

    # Refresh: a new pair, with a new ID token for the same person; the old refresh token is then refused.
    refreshed = dict(
        flow.client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    )
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=TIMEOUT).json())
    assert jwt.decode(refreshed["id_token"], keys).claims["sub"] == str(citizen.pk)
    replay = raw_token_request(metadata, rp, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # Reuse protection: replaying a rotated refresh token revokes the whole family.
    after_replay = raw_token_request(
        metadata, rp, grant_type="refresh_token", refresh_token=refreshed["refresh_token"]
    )
    assert after_replay.json()["error"] == "invalid_grant"


@live
def test_id_token_signature_is_really_checked(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    flow = CodeFlow(relying_party(rp), metadata)
    token = flow.exchange(flow.run(browser(), issuer, citizen.resident_id))
    header, payload, signature = token["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "forged-" + str(claims["sub"])  # never the real subject (a user with pk 1 would be)
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        validate_id_token(
            f"{header}.{forged_payload}.{signature}",
            metadata,
            client_id=rp.application.client_id,
            nonce=flow.nonce,
        )


@live
def test_scopes_decide_which_claims_are_released(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    flow = CodeFlow(relying_party(rp, scope="openid"), metadata)
    token = flow.exchange(flow.run(browser(), issuer, citizen.resident_id))
    claims = validate_id_token(
        token["id_token"], metadata, client_id=rp.application.client_id, nonce=flow.nonce
    )
    assert claims["sub"] == str(citizen.pk)
    assert not {"name", "account_kind", "resident_id_masked", "real_name_level"} & set(claims)
    info = flow.client.get(metadata["userinfo_endpoint"], timeout=TIMEOUT).json()
    assert info == {"sub": str(citizen.pk)}


@live
def test_staff_get_department_and_roles_with_the_staff_scope(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, department: Department
) -> None:
    staff: Any = StaffFactory(department=department, roles=["approver", "window_clerk"])
    flow = CodeFlow(relying_party(rp, scope="openid profile staff"), metadata)
    token = flow.exchange(flow.run(browser(), issuer, staff.username))
    claims = validate_id_token(
        token["id_token"], metadata, client_id=rp.application.client_id, nonce=flow.nonce
    )
    expected_department = {
        "id": department.pk,
        "name": department.name,
        "division_code": department.division_code,
    }
    assert claims["account_kind"] == "staff"
    assert claims["department"] == expected_department
    assert claims["roles"] == ["approver", "window_clerk"]
    assert "resident_id_masked" not in claims
    info = flow.client.get(metadata["userinfo_endpoint"], timeout=TIMEOUT).json()
    assert info["department"] == expected_department
    assert info["roles"] == ["approver", "window_clerk"]


@live
def test_staff_must_pass_their_second_factor_before_a_system_gets_a_code(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, department: Department, settings: Any
) -> None:
    settings.STAFF_2FA = "required"
    staff: Any = StaffFactory(department=department, roles=["approver"])
    session = browser()
    flow = CodeFlow(relying_party(rp), metadata)
    response = session.get(flow.url, allow_redirects=False, timeout=TIMEOUT)
    after_login = login_through_portal(session, urljoin(issuer, response.headers["Location"]), staff.username)
    response = session.get(after_login, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == reverse("identity:otp_setup")
    assert not Grant.objects.exists()


@live
def test_a_deactivated_account_loses_its_tokens(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    flow = CodeFlow(relying_party(rp), metadata)
    token = flow.exchange(flow.run(browser(), issuer, citizen.resident_id))
    User.objects.filter(pk=citizen.pk).update(is_active=False)
    assert flow.client.get(metadata["userinfo_endpoint"], timeout=TIMEOUT).status_code == 401
    me = requests.get(
        f"{issuer}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=TIMEOUT
    )
    assert me.status_code == 401
    refresh = raw_token_request(
        metadata, rp, grant_type="refresh_token", refresh_token=token["refresh_token"]
    )
    assert refresh.json()["error"] == "invalid_grant"


@live
def test_a_public_client_proves_itself_with_pkce_alone(
    issuer: str, metadata: dict[str, Any], department: Department, citizen: User
) -> None:
    app = services.client_register(
        name="掌上六安App",
        redirect_uris=[REDIRECT_URI],
        client_type="public",
        department=department,
        by=None,
    )
    client = system_session(
        app.application.client_id,
        None,
        scope="openid profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    flow = CodeFlow(client, metadata)
    trip = flow.run(browser(), issuer, citizen.resident_id)
    token = flow.exchange(trip)
    claims = validate_id_token(
        token["id_token"], metadata, client_id=app.application.client_id, nonce=flow.nonce
    )
    assert claims["sub"] == str(citizen.pk)


# --- codes that must not work ----------------------------------------------------------------


@live
def test_a_replayed_authorization_code_is_refused(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    flow = CodeFlow(relying_party(rp), metadata)
    trip = flow.run(browser(), issuer, citizen.resident_id)
    flow.exchange(trip)
    replay = raw_token_request(
        metadata,
        rp,
        grant_type="authorization_code",
        code=trip.params["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=flow.verifier,
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


@live
def test_an_expired_authorization_code_is_refused(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    flow = CodeFlow(relying_party(rp), metadata)
    trip = flow.run(browser(), issuer, citizen.resident_id)
    assert (
        Grant.objects.filter(code=trip.params["code"]).update(expires=timezone.now() - timedelta(seconds=1))
        == 1
    )
    answer = raw_token_request(
        metadata,
        rp,
        grant_type="authorization_code",
        code=trip.params["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=flow.verifier,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


@live
def test_a_wrong_code_verifier_is_refused(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    flow = CodeFlow(relying_party(rp), metadata)
    trip = flow.run(browser(), issuer, citizen.resident_id)
    answer = raw_token_request(
        metadata,
        rp,
        grant_type="authorization_code",
        code=trip.params["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=generate_token(48),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


# --- requests refused at the authorization endpoint -----------------------------------------


def _authorize_query(rp: ClientCredentials, **overrides: str) -> str:
    params = {
        "client_id": rp.application.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "st4te",
        "code_challenge": s256(generate_token(48)),
        "code_challenge_method": "S256",
        **overrides,
    }
    return "/o/authorize/?" + urlencode({k: v for k, v in params.items() if v is not None})


@pytest.mark.django_db
@pytest.mark.parametrize("logged_in", [True, False], ids=["logged-in", "anonymous"])
def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(
    client: Client, rp: ClientCredentials, citizen: User, logged_in: bool
) -> None:
    if logged_in:
        client.force_login(citizen)
    response = client.get(
        _authorize_query(rp, redirect_uri="https://evil.example.com/steal"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    body = response.content.decode()
    assert "is not registered for the system" in body
    assert 'class="site-header"' in body  # the portal's layout, not DOT's bare page
    assert not Grant.objects.exists()


@pytest.mark.django_db
def test_an_unknown_client_gets_an_error_page(client: Client, rp: ClientCredentials, citizen: User) -> None:
    client.force_login(citizen)
    response = client.get(_authorize_query(rp, client_id="no-such-client"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "is not registered with this platform" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge_method": "plain", "code_challenge": "a" * 50},
        {"code_challenge_method": None},  # a challenge without a method means plain (RFC 7636)
        {"code_challenge": None, "code_challenge_method": None},
    ],
    ids=["plain", "method-missing", "challenge-missing"],
)
def test_pkce_must_be_s256(
    client: Client, rp: ClientCredentials, citizen: User, pkce: dict[str, Any]
) -> None:
    client.force_login(citizen)
    response = client.get(_authorize_query(rp, **pkce))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = parse_qs(urlsplit(location).query)
    assert params["error"] == ["invalid_request"]
    assert params["state"] == ["st4te"]
    assert "code" not in params
    assert not Grant.objects.exists()


@pytest.mark.django_db
def test_an_anonymous_valid_request_is_sent_to_the_portal_login(
    client: Client, rp: ClientCredentials
) -> None:
    query = _authorize_query(rp)
    response = client.get(query)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == reverse("portal:login")
    assert parse_qs(location.query)["next"] == [query]


@pytest.mark.django_db
def test_prompt_none_without_a_session_answers_login_required(client: Client, rp: ClientCredentials) -> None:
    response = client.get(_authorize_query(rp, prompt="none"))
    assert response.status_code == 302
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.headers["Location"].startswith(REDIRECT_URI)
    assert params["error"] == ["login_required"]


@pytest.mark.django_db
def test_prompt_none_with_a_session_answers_silently(
    client: Client, rp: ClientCredentials, department: Department, citizen: User
) -> None:
    client.force_login(citizen)
    response = client.get(_authorize_query(rp, prompt="none"))
    assert response.status_code == 302
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params["code"]
    asks_consent = services.client_register(
        name="第三方预约系统",
        redirect_uris=[REDIRECT_URI],
        department=department,
        skip_authorization=False,
        by=None,
    )
    response = client.get(_authorize_query(asks_consent, prompt="none"))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["consent_required"]


@pytest.mark.django_db
def test_a_system_that_asks_for_consent_shows_the_consent_page(
    client: Client, department: Department, citizen: User
) -> None:
    rp = services.client_register(
        name="第三方预约系统",
        redirect_uris=[REDIRECT_URI],
        department=department,
        skip_authorization=False,
        by=None,
    )
    client.force_login(citizen)
    response = client.get(_authorize_query(rp), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "第三方预约系统" in body
    assert 'name="allow"' in body
    assert not Grant.objects.exists()


# --- machine clients -------------------------------------------------------------------------


@pytest.fixture
def machine(department: Department) -> ClientCredentials:
    return services.client_register(
        name="数据共享交换前置机",
        client_type="confidential",
        grant_type="client-credentials",
        department=department,
        by=None,
    )


@live
def test_client_credentials_token_has_no_user_and_is_refused_on_me(
    issuer: str, metadata: dict[str, Any], machine: ClientCredentials
) -> None:
    system = system_session(machine.application.client_id, machine.client_secret)
    token = system.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["scope"] == "exchange"
    assert "refresh_token" not in token
    assert "id_token" not in token
    stored = AccessToken.objects.get(application=machine.application)
    assert stored.user is None
    assert stored.token == ""  # hashed at rest (RFC 9700 token storage)

    me = requests.get(
        f"{issuer}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=TIMEOUT
    )
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "token_has_no_user"

    wrong_secret = requests.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(machine.application.client_id, "not-the-secret"),
        timeout=TIMEOUT,
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"


@live
def test_a_machine_client_cannot_ask_for_personal_scopes(
    metadata: dict[str, Any], machine: ClientCredentials
) -> None:
    answer = raw_token_request(metadata, machine, grant_type="client_credentials", scope="openid profile")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


@live
def test_a_disabled_client_gets_no_tokens_and_its_tokens_stop_working(
    issuer: str, metadata: dict[str, Any], machine: ClientCredentials
) -> None:
    system = system_session(machine.application.client_id, machine.client_secret)
    token = system.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    services.client_disable(system=machine.application.department_system, by=None)
    refused = raw_token_request(metadata, machine, grant_type="client_credentials")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    me = requests.get(
        f"{issuer}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=TIMEOUT
    )
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "not_authenticated"


# --- RP-initiated logout ---------------------------------------------------------------------


@live
def test_rp_initiated_logout_ends_the_portal_session_and_the_tokens(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    session = browser()
    flow = CodeFlow(relying_party(rp), metadata)
    token = flow.exchange(flow.run(session, issuer, citizen.resident_id))
    assert session.get(f"{issuer}/account/", allow_redirects=False, timeout=TIMEOUT).status_code == 200

    query = urlencode(
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGOUT_URI, "state": "bye"}
    )
    response = session.get(
        f"{metadata['end_session_endpoint']}?{query}", allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{LOGOUT_URI}?state=bye"

    account = session.get(f"{issuer}/account/", allow_redirects=False, timeout=TIMEOUT)
    assert account.status_code == 302
    assert urlsplit(account.headers["Location"]).path == "/login/"
    me = requests.get(
        f"{issuer}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=TIMEOUT
    )
    assert me.status_code == 401
    assert AuditEvent.objects.filter(action="auth.logout", actor_id=citizen.pk).exists()


@live
def test_logout_to_an_unregistered_address_is_refused(
    issuer: str, metadata: dict[str, Any], rp: ClientCredentials, citizen: User
) -> None:
    session = browser()
    flow = CodeFlow(relying_party(rp), metadata)
    token = flow.exchange(flow.run(session, issuer, citizen.resident_id))
    query = urlencode(
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example.com/"}
    )
    response = session.get(
        f"{metadata['end_session_endpoint']}?{query}", allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "not registered for the system" in response.text
    assert session.get(f"{issuer}/account/", allow_redirects=False, timeout=TIMEOUT).status_code == 200


# --- the management command ------------------------------------------------------------------


@live
def test_the_command_prints_credentials_of_a_working_client(
    issuer: str, metadata: dict[str, Any], department: Department, citizen: User
) -> None:
    out = io.StringIO()
    call_command(
        "oidc_client_create",
        "--name",
        "公积金业务系统",
        "--redirect-uri",
        REDIRECT_URI,
        "--department",
        department.code,
        "--json",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    assert printed["client_id"]
    assert printed["client_secret"]
    assert printed["grant_type"] == "authorization-code"
    assert printed["redirect_uris"] == [REDIRECT_URI]
    assert printed["issuer"] == issuer

    client = system_session(
        printed["client_id"],
        printed["client_secret"],
        scope="openid profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    flow = CodeFlow(client, metadata)
    token = flow.exchange(flow.run(browser(), issuer, citizen.resident_id))
    claims = validate_id_token(token["id_token"], metadata, client_id=printed["client_id"], nonce=flow.nonce)
    assert claims["sub"] == str(citizen.pk)
    event = AuditEvent.objects.get(action="oidc.client_register")
    assert event.actor_id is None
    assert event.data["client_id"] == printed["client_id"]
    assert printed["client_secret"] not in json.dumps(event.data)


@pytest.mark.django_db
def test_the_command_defaults_to_the_top_department_and_reports_bad_input(city: Department) -> None:
    DepartmentFactory(name="六安市数据资源局", code="city-data", parent=city)
    out = io.StringIO()
    call_command(
        "oidc_client_create", "--name", "交换平台", "--grant", "client-credentials", "--json", stdout=out
    )
    printed = json.loads(out.getvalue())
    assert printed["department"] == city.code
    assert printed["grant_type"] == "client-credentials"
    assert printed["redirect_uris"] == []

    with translation.override("en"):
        with pytest.raises(CommandError, match="confidential"):
            call_command(
                "oidc_client_create", "--name", "移动端", "--grant", "client-credentials", "--public"
            )
        with pytest.raises(CommandError, match="redirect URI"):
            call_command("oidc_client_create", "--name", "无回调系统")
    with pytest.raises(CommandError, match="no-such"):
        call_command(
            "oidc_client_create",
            "--name",
            "某系统",
            "--redirect-uri",
            REDIRECT_URI,
            "--department",
            "no-such",
        )
