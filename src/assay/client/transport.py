"""The client's transport: base URL handling, one httpx client, and the single choke point
(``_call``) where every failure becomes a typed error (``assay.client.errors``)."""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import quote

import httpx

from assay import __version__
from assay.client.errors import EngineConnectionError, UnexpectedResponse, error_class, parse_error_body

JSON = Any
JSONObject = dict[str, Any]

DEFAULT_ENGINE_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1"
# Extra seconds granted to a long-poll request beyond the wait the engine was asked for,
# so the engine's own "nothing happened" answer arrives before our transport gives up.
LONG_POLL_GRACE_SECS = 10.0
MAX_WAIT_SECS = 60


def api_base(engine_url: str) -> str:
    """The REST root for a user-supplied engine URL.

    Users type the server's address (``http://host:8080``); a URL that already names an
    API prefix (either of the two the engine serves) is used as given.
    """
    url = engine_url.rstrip("/")
    if url.endswith(API_PREFIX) or url.endswith(API_PREFIX + "/engine/workflow"):
        return url
    return url + API_PREFIX


def seg(value: str) -> str:
    # Ids and names are user data: "a/b" or "x?y" must stay one path segment.
    return quote(value, safe="")


def clamp_wait(wait_secs: float) -> int:
    return max(0, min(MAX_WAIT_SECS, int(wait_secs)))


class Transport:
    """The HTTP side of the client: one connection pool, one choke point for failures.
    Thread-compatible, not thread-safe; close it when done.

    ``transport`` is the test seam (httpx.MockTransport, WSGI …); production uses the
    default network transport.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_ENGINE_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = api_base(base_url)
        self.timeout = timeout
        headers = {"User-Agent": f"assay-cli/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The single choke point: every route goes through here, so every failure is typed.
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: JSON = None,
        send_body: bool = False,
        timeout: float | None = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(
                method,
                path,
                params=clean or None,
                json=body if send_body else None,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except httpx.HTTPError as exc:
            cause = str(exc) or type(exc).__name__
            raise EngineConnectionError(
                f"engine unreachable at {self.base_url}: {cause}", method=method, url=url
            ) from exc
        url = str(response.request.url)
        if response.is_success:
            return response
        code, message = parse_error_body(response)
        raise error_class(response.status_code)(
            status=response.status_code, code=code, message=message, method=method, url=url
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> JSON:
        response = self._call(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedResponse(
                f"answer is not JSON: {response.text[:120]!r}",
                method=method,
                url=str(response.request.url),
            ) from exc

    def _object(self, method: str, path: str, **kwargs: Any) -> JSONObject:
        value = self._request(method, path, **kwargs)
        return {} if value is None else self._expect(value, dict, "a JSON object", method, path)

    def _array(self, method: str, path: str, **kwargs: Any) -> list[JSONObject]:
        return self._expect(self._request(method, path, **kwargs), list, "a JSON array", method, path)

    def _expect(self, value: JSON, kind: type, what: str, method: str, path: str) -> Any:
        if not isinstance(value, kind):
            raise UnexpectedResponse(
                f"expected {what}, got {type(value).__name__}", method=method, url=self.base_url + path
            )
        return value
