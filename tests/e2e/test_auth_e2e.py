"""Auth against a real ``assay serve`` subprocess, in each mode.

The central test walks EVERY operation of the served OpenAPI document, under both prefixes,
and proves that each one answers 401 without a token and something other than 401 with a
valid one (except the documented open set). The OIDC issuer is a real discovery + JWKS
server on loopback with keys generated here (tests/integration/auth/oidc_stand_in.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.engine_process import EngineProcess, clean_env, running_engine
from tests.integration.auth.oidc_stand_in import AUDIENCE, Issuer, SigningKey, new_key, running_issuer

pytestmark = pytest.mark.slow

PREFIX, ALT_PREFIX = "/api/v1/engine/workflow", "/api/v1"
OPEN_SUFFIXES = {"/health", "/version", "/openapi.json", "/docs"}
OPEN_ROOTS = ["/", "/workflow", "/workflow/", "/favicon.ico", PREFIX + "/docs-assets/swagger-ui.css"]


def assay(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assay", *args], capture_output=True, text=True, timeout=60,
        env=env or clean_env(), cwd=cwd,
    )


def generate_key(db: Path, label: str) -> str:
    out = assay("serve", "--backend", f"sqlite:///{db}", "--generate-api-key", "--label", label)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert re.fullmatch(r"assay_[0-9a-f]{64}", key), out.stdout
    return key


def _serve(workdir: Path, *flags: str) -> Iterator[EngineProcess]:
    with running_engine(workdir, args=flags) as served:
        yield served


# --- fixtures: one engine per mode ----------------------------------------------------------


@pytest.fixture(scope="module")
def issuer() -> Iterator[tuple[Issuer, SigningKey]]:
    with running_issuer() as state:
        key = new_key("ec", "e2e-1")
        state.published = [key]
        yield state, key


@pytest.fixture(scope="module")
def api_key_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineProcess, str]]:
    workdir = tmp_path_factory.mktemp("auth-api-key")
    key = generate_key(workdir / "engine.db", "e2e")
    yield from ((s, key) for s in _serve(workdir, "--auth-api-key"))


@pytest.fixture(scope="module")
def jwt_engine(tmp_path_factory: pytest.TempPathFactory, issuer: tuple[Issuer, SigningKey]) -> Iterator[EngineProcess]:
    state, _ = issuer
    workdir = tmp_path_factory.mktemp("auth-jwt")
    yield from _serve(workdir, "--auth-issuer", state.url, "--auth-audience", AUDIENCE)


@pytest.fixture(scope="module")
def combined_engine(
    tmp_path_factory: pytest.TempPathFactory, issuer: tuple[Issuer, SigningKey]
) -> Iterator[tuple[EngineProcess, str]]:
    state, _ = issuer
    workdir = tmp_path_factory.mktemp("auth-combined")
    key = generate_key(workdir / "engine.db", "ci")
    yield from ((s, key) for s in _serve(workdir, "--auth-api-key", "--auth-issuer", state.url, "--auth-audience", AUDIENCE))


# --- the route walk ---------------------------------------------------------------------------


def operations(base_url: str) -> list[tuple[str, str]]:
    """Every (method, path) of the served OpenAPI document, under both prefixes, with path
    parameters filled in."""
    spec = httpx.get(base_url + PREFIX + "/openapi.json", timeout=10).json()
    ops = []
    for path, item in spec["paths"].items():
        for method in item:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            concrete = re.sub(r"\{[^}]+\}", "auth-e2e-x", path)
            assert concrete.startswith(PREFIX + "/"), path
            ops.append((method.upper(), concrete))
            ops.append((method.upper(), ALT_PREFIX + concrete[len(PREFIX) :]))
    return ops


def _call(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> int:
    kwargs = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    try:
        with client.stream(method, path, headers=headers, **kwargs) as response:
            return response.status_code  # headers only: the SSE stream never ends
    except httpx.ReadTimeout:
        return -1  # the request got past the gate and is being served


def assert_every_route_gated(base_url: str, token: str) -> None:
    ops = operations(base_url)
    suffixes = {path[len(PREFIX) :] for _, path in ops if path.startswith(PREFIX)}
    # The walk covers the routes that matter (the OpenAPI document must not omit them).
    for needed in ("/workflows", "/workflow-tasks/poll", "/tasks/poll", "/events/stream", "/api-keys",
                   "/api-keys/auth-e2e-x", "/schedules", "/namespaces", "/queues", "/workers"):
        assert needed in suffixes, f"{needed} missing from the OpenAPI document"
    failures = []
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        for method, path in ops:
            suffix = path[len(PREFIX) :] if path.startswith(PREFIX) else path[len(ALT_PREFIX) :]
            anonymous = _call(client, method, path, {})
            authed = _call(client, method, path, {"Authorization": f"Bearer {token}"})
            if suffix in OPEN_SUFFIXES:
                if anonymous in (401, 403):
                    failures.append(f"{method} {path}: open route answered {anonymous}")
                continue
            if anonymous != 401:
                failures.append(f"{method} {path}: {anonymous} without a token (want 401)")
            if authed == 401:
                failures.append(f"{method} {path}: 401 with a valid token")
    assert not failures, "\n".join(failures)
    assert len(ops) >= 60, len(ops)


def assert_open_set(base_url: str) -> None:
    for prefix in (PREFIX, ALT_PREFIX):
        for suffix in sorted(OPEN_SUFFIXES):
            r = httpx.get(base_url + prefix + suffix, timeout=10)
            assert r.status_code == 200, (prefix + suffix, r.status_code)
    for path in OPEN_ROOTS:
        r = httpx.get(base_url + path, timeout=10)
        assert r.status_code in (200, 308), (path, r.status_code)


def assert_stream(base_url: str, token: str) -> None:
    for prefix in (PREFIX, ALT_PREFIX):
        url = base_url + prefix + "/events/stream"
        with httpx.Client(timeout=5.0) as client:
            assert client.get(url).status_code == 401
            assert client.get(url, params={"access_token": "assay_" + "0" * 64}).status_code == 401
            for kwargs in ({"headers": {"Authorization": f"Bearer {token}"}},
                           {"params": {"namespace": "main", "access_token": token}}):
                with client.stream("GET", url, **kwargs) as response:  # type: ignore[arg-type]
                    assert response.status_code == 200
                    assert response.headers["content-type"].startswith("text/event-stream")
                    first = next(response.iter_text())
                    assert first.startswith(":") or first.startswith("event:"), first


# --- API-key mode -------------------------------------------------------------------------------


def test_api_key_mode_gates_every_route(api_key_engine: tuple[EngineProcess, str]) -> None:
    served, key = api_key_engine
    assert_open_set(served.url)
    assert_every_route_gated(served.url, key)
    assert_stream(served.url, key)
    # Neither the key nor the query token ever reached the engine's log.
    assert key not in served.log()


def test_api_key_401_body_names_the_mode(api_key_engine: tuple[EngineProcess, str]) -> None:
    served, _ = api_key_engine
    r = httpx.get(served.url + ALT_PREFIX + "/workflows", timeout=10)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json() == {
        "error": "missing Authorization: Bearer <token>; this engine expects an API key",
        "code": "unauthorized",
    }


def test_key_lifecycle_over_rest_and_cli(api_key_engine: tuple[EngineProcess, str]) -> None:
    served, admin = api_key_engine
    auth = {"Authorization": f"Bearer {admin}"}
    api = served.url + ALT_PREFIX
    # Keys exist, so the bootstrap window is closed.
    assert httpx.post(api + "/api-keys", json={"label": "sneaky"}, timeout=10).status_code == 401
    created = httpx.post(api + "/api-keys", json={"label": "temp"}, headers=auth, timeout=10)
    assert created.status_code == 201, created.text
    temp = created.json()
    temp_auth = {"Authorization": f"Bearer {temp['plaintext']}"}
    assert httpx.get(api + "/workflows", headers=temp_auth, timeout=10).status_code == 200

    listed = assay("serve", "--backend", f"sqlite:///{served.db_path}", "--list-api-keys")
    assert listed.returncode == 0, listed.stderr
    assert temp["prefix"] in listed.stdout and "temp" in listed.stdout
    assert temp["plaintext"] not in listed.stdout and admin not in listed.stdout
    listing = httpx.get(api + "/api-keys", headers=auth, timeout=10).json()
    assert {k["label"] for k in listing} >= {"e2e", "temp"}
    assert "plaintext" not in str(listing)

    revoked = assay("serve", "--backend", f"sqlite:///{served.db_path}", "--revoke-api-key", temp["prefix"])
    assert revoked.returncode == 0, revoked.stderr
    r = httpx.get(api + "/workflows", headers=temp_auth, timeout=10)
    assert r.status_code == 401 and "invalid API key" in r.json()["error"]
    assert httpx.delete(api + f"/api-keys/{temp['prefix']}", headers=auth, timeout=10).status_code == 404


def test_cli_sends_the_key_and_explains_401(api_key_engine: tuple[EngineProcess, str], tmp_path: Path) -> None:
    served, key = api_key_engine
    env = {**clean_env(), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "ASSAY_ENGINE_URL": served.url}
    denied = assay("workflow", "list", env=env)
    assert denied.returncode != 0
    assert "this engine expects an API key" in denied.stderr + denied.stdout
    allowed = assay("workflow", "list", "--output", "json", env={**env, "ASSAY_API_KEY": key})
    assert allowed.returncode == 0, allowed.stderr


def test_bootstrap_window_mints_exactly_one_first_key(tmp_path: Path) -> None:
    for served in _serve(tmp_path, "--auth-api-key"):
        api = served.url + PREFIX
        assert httpx.get(api + "/workflows", timeout=10).status_code == 401
        first = httpx.post(api + "/api-keys", json={"label": "bootstrap"}, timeout=10)
        assert first.status_code == 201, first.text
        again = httpx.post(api + "/api-keys", json={"label": "second"}, timeout=10)
        assert again.status_code == 401
        token = first.json()["plaintext"]
        r = httpx.get(api + "/workflows", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200


# --- OIDC mode -------------------------------------------------------------------------------------


def test_jwt_mode_gates_every_route(jwt_engine: EngineProcess, issuer: tuple[Issuer, SigningKey]) -> None:
    state, key = issuer
    token = state.token(key, exp=int(time.time()) + 3600)
    assert_open_set(jwt_engine.url)
    assert_every_route_gated(jwt_engine.url, token)
    assert_stream(jwt_engine.url, token)
    assert token not in jwt_engine.log()


def test_jwt_mode_reasons(jwt_engine: EngineProcess, issuer: tuple[Issuer, SigningKey]) -> None:
    state, key = issuer
    api = jwt_engine.url + ALT_PREFIX + "/workflows"
    cases = {
        state.token(key, exp=int(time.time()) - 600): "token expired",
        state.token(key, aud="someone-else"): "wrong audience",
        state.token(key, iss="https://evil.example"): "wrong issuer",
        state.token(new_key("ec", "e2e-1")): "bad signature",
        "assay_" + "1" * 64: "token is not a JWT",
    }
    for token, reason in cases.items():
        r = httpx.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 401
        assert r.json()["error"] == f"{reason}; this engine expects an OIDC token from {state.url}"


def test_jwt_key_rotation_on_a_running_engine(jwt_engine: EngineProcess, issuer: tuple[Issuer, SigningKey]) -> None:
    state, key = issuer
    rotated = new_key("ed25519", "e2e-2")
    state.published = [key, rotated]
    api = jwt_engine.url + ALT_PREFIX + "/workflows"
    deadline = time.monotonic() + 15  # the refresh is rate-limited to one per 10 s
    while True:
        r = httpx.get(api, headers={"Authorization": f"Bearer {state.token(rotated)}"}, timeout=10)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        assert "unknown signing key" in r.json()["error"]
        time.sleep(0.5)
    assert r.status_code == 200, r.text


# --- combined mode ----------------------------------------------------------------------------------


def test_combined_mode(combined_engine: tuple[EngineProcess, str], issuer: tuple[Issuer, SigningKey]) -> None:
    served, api_key = combined_engine
    state, key = issuer
    api = served.url + PREFIX + "/workflows"
    for token in (api_key, state.token(key)):
        assert httpx.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    expired = state.token(key, exp=int(time.time()) - 600)
    r = httpx.get(api, headers={"Authorization": f"Bearer {expired}"}, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"] == (
        f"token expired; this engine expects an API key or an OIDC token from {state.url}"
    )
    r = httpx.get(api, headers={"Authorization": "Bearer garbage"}, timeout=10)
    assert r.status_code == 401 and "invalid API key" in r.json()["error"]
    assert_stream(served.url, state.token(key))


LUA_LIST = """
local workflow = require("assay.workflow")
workflow.connect(env.get("ENGINE"), { token = env.get("TOKEN") })
local ok, err = pcall(workflow.list, {})
if ok then print("LISTED") else print("ERROR: " .. tostring(err)) end
"""


def test_lua_client_sends_the_token_and_explains_401(api_key_engine: tuple[EngineProcess, str], tmp_path: Path) -> None:
    served, key = api_key_engine
    script = tmp_path / "list.lua"
    script.write_text(LUA_LIST)
    env = {**clean_env(), "HOME": str(tmp_path), "ENGINE": served.url}
    allowed = assay("run", str(script), env={**env, "TOKEN": key})
    assert "LISTED" in allowed.stdout, allowed.stdout + allowed.stderr
    denied = assay("run", str(script), env={**env, "TOKEN": ""})
    assert "ERROR:" in denied.stdout, denied.stdout + denied.stderr
    assert "HTTP 401" in denied.stdout and "this engine expects an API key" in denied.stdout
