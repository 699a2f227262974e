"""An aiohttp client for a Pocket-v3-compatible service.

Every call is a JSON ``POST`` with ``X-Accept: application/json``; the consumer
key and access token ride in the JSON body and never in a URL (query strings
end up in proxy and server logs). The client borrows the process's one shared
:class:`aiohttp.ClientSession` and never closes it.

Answers are validated by pydantic models that take what real services send:
ids as strings or numbers, ``favorite``/``status`` as ``"0"``/``"1"`` or ints,
``action_errors`` present or not, ``list: []`` for an empty listing. Error
answers (whose bodies may be plain text or HTML) become typed errors from the
``X-Error``/``X-Error-Code`` and ``X-Limit-*`` headers:

==========================  =====================================
HTTP answer                 error (code)
==========================  =====================================
400                         :class:`BadRequest` (``action_failed``)
401                         :class:`PocketAuthFailed` (``auth_failed``)
403, a rate limit used up   :class:`PocketRateLimited` (``rate_limited``)
403, otherwise              :class:`PermissionDenied` (``auth_failed``)
5xx, timeout, no connection :class:`PocketUnavailable` (``unavailable``)
==========================  =====================================
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from tuckaway.errors import ActionFailed, AuthFailed, RateLimited, TuckawayError, Unavailable
from tuckaway.services.ratelimit import Holds, header_int, wait_s

if TYPE_CHECKING:
    import aiohttp
    from multidict import CIMultiDictProxy

    from tuckaway.accounts.credentials import PocketCredentials

log = logging.getLogger(__name__)

#: seconds to wait when a service says "rate limited" without saying until when
DEFAULT_RETRY_AFTER_S = 60.0
_M = TypeVar("_M", bound=BaseModel)
_MAX_MESSAGE = 300

#: the allowances the service said are used up; every client of an account shares them
_HOLDS = Holds()


# -- errors ------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimits:
    """The ``X-Limit-User-*`` and ``X-Limit-Key-*`` headers of one answer (None when absent)."""

    user_limit: int | None = None
    user_remaining: int | None = None
    user_reset: int | None = None
    key_limit: int | None = None
    key_remaining: int | None = None
    key_reset: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimits:
        def number(name: str) -> int | None:
            return header_int(headers, name)

        return cls(
            user_limit=number("X-Limit-User-Limit"),
            user_remaining=number("X-Limit-User-Remaining"),
            user_reset=number("X-Limit-User-Reset"),
            key_limit=number("X-Limit-Key-Limit"),
            key_remaining=number("X-Limit-Key-Remaining"),
            key_reset=number("X-Limit-Key-Reset"),
        )

    @property
    def exhausted(self) -> bool:
        """Whether the user's or the consumer key's allowance is used up.

        A service that sends a reset time but no remaining count is taken at
        its word that a window is what stopped the request.
        """
        if self.user_remaining == 0 or self.key_remaining == 0:
            return True
        return (self.user_remaining is None and self.user_reset is not None) or (
            self.key_remaining is None and self.key_reset is not None
        )

    @property
    def retry_after(self) -> float:
        """Seconds until the used-up window(s) reset; the longest wait wins."""
        resets = []
        if self.user_remaining == 0 and self.user_reset is not None:
            resets.append(self.user_reset)
        if self.key_remaining == 0 and self.key_reset is not None:
            resets.append(self.key_reset)
        if not resets:
            resets = [r for r in (self.user_reset, self.key_reset) if r is not None]
        return float(max(resets)) if resets else DEFAULT_RETRY_AFTER_S


class PocketError(TuckawayError):
    """An error answer from the Pocket service (mixed into each typed error below).

    ``status`` is the HTTP status (0 when there was no answer), ``error_code``
    the ``X-Error-Code`` header and ``limits`` the rate-limit headers.
    """

    status: int = 0
    error_code: str | None = None
    limits: RateLimits = RateLimits()


class BadRequest(PocketError, ActionFailed):
    """HTTP 400: the service refused the request (for ``/v3/send``: the whole batch)."""


class PocketAuthFailed(PocketError, AuthFailed):
    """HTTP 401: the access token (or consumer key) does not work."""


class PermissionDenied(PocketError, AuthFailed):
    """HTTP 403 without a used-up rate limit: the key lacks a permission, or access is denied."""


class PocketRateLimited(PocketError, RateLimited):
    """HTTP 403 (or 429) with a used-up rate limit; ``retry_after`` from ``X-Limit-*-Reset``."""

    def __init__(self, message: str, retry_after: float = DEFAULT_RETRY_AFTER_S) -> None:
        RateLimited.__init__(self, message, retry_after)


class PocketUnavailable(PocketError, Unavailable):
    """5xx, a timeout, no connection, or an answer that is not what Pocket sends."""


# -- models ------------------------------------------------------------------------


def _int_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return value


def _str_or_none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(int(value))
    return value


LenientInt = Annotated[int | None, BeforeValidator(_int_or_none)]
LenientStr = Annotated[str | None, BeforeValidator(_str_or_none)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class PocketItem(_Lenient):
    """An item as ``/v3/add``, ``/v3/send`` (``add``/``readd``) or ``/v3/get`` describe it."""

    item_id: str
    resolved_id: LenientStr = None
    given_url: str | None = None
    normal_url: str | None = None
    resolved_url: str | None = None
    given_title: str | None = None
    resolved_title: str | None = None
    title: str | None = None
    status: LenientInt = None
    favorite: bool | None = None
    time_added: LenientInt = None
    time_updated: LenientInt = None
    tags: dict[str, Any] | list[Any] | None = None

    @field_validator("item_id", mode="before")
    @classmethod
    def _id_as_string(cls, value: Any) -> Any:
        return _str_or_none(value)

    @field_validator("favorite", mode="before")
    @classmethod
    def _favorite(cls, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        return str(value).strip() in {"1", "true", "True"}

    @property
    def url(self) -> str:
        """The url the item was saved under, as best the answer says."""
        return self.given_url or self.normal_url or self.resolved_url or ""

    @property
    def tag_names(self) -> list[str]:
        if isinstance(self.tags, Mapping):
            return [str(t) for t in self.tags]
        if isinstance(self.tags, list):
            return [str(t.get("tag")) if isinstance(t, Mapping) else str(t) for t in self.tags]
        return []

    def to_store(self) -> dict[str, Any]:
        """A plain dict for :meth:`tuckaway.store.ItemList.remember` (absent fields left out)."""
        data = self.model_dump(exclude_none=True)
        if self.tags is not None:
            data["tags"] = self.tag_names
        if "favorite" in data:
            data["favorite"] = "1" if data["favorite"] else "0"
        return data


class AddResponse(_Lenient):
    """``/v3/add``: ``{"item": {...}, "status": 1}``.

    Some services answer ``{"status": 1}`` or ``"item": true`` (saved, but not
    described): ``item`` is then None.
    """

    item: PocketItem | None = None
    status: LenientInt = 1

    @field_validator("item", mode="before")
    @classmethod
    def _described(cls, value: Any) -> Any:
        return value if isinstance(value, Mapping) and "item_id" in value else None


class ActionError(_Lenient):
    """One ``action_errors`` entry."""

    message: str = ""
    type: str | None = None
    code: LenientStr = None


ActionResult = bool | PocketItem | dict[str, Any] | str | int | None


class SendResponse(_Lenient):
    """``/v3/send``: one ``action_results`` entry (and ``action_errors`` entry) per action."""

    status: LenientInt = 1
    action_results: list[ActionResult] = []
    action_errors: list[ActionError | None] | None = None

    @field_validator("action_results", mode="before")
    @classmethod
    def _results(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [
                PocketItem.model_validate(v) if isinstance(v, dict) and "item_id" in v else v
                for v in value
            ]
        return value

    @field_validator("action_errors", mode="before")
    @classmethod
    def _errors(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v if isinstance(v, dict) or v is None else {"message": str(v)} for v in value]
        return value

    def outcome(self, index: int) -> tuple[bool, ActionResult, str | None]:
        """``(ok, result, error message)`` of action ``index``, judged by its own entries.

        The top-level ``status`` is ignored (Pocket itself always sent 1); an
        action succeeded when its result is not ``false`` and it has no error.
        """
        result: ActionResult = (
            self.action_results[index] if index < len(self.action_results) else None
        )
        error = (
            self.action_errors[index]
            if self.action_errors is not None and index < len(self.action_errors)
            else None
        )
        if error is not None:
            return False, result, error.message or f"rejected (code {error.code or '?'})"
        if result is False:
            return False, result, "the service rejected this action"
        return True, result, None


class GetResponse(_Lenient):
    """``/v3/get``: ``list`` is ``{ITEM_ID: item}``; an empty ``[]`` becomes ``{}``."""

    status: LenientInt = 1
    complete: LenientInt = None
    list: dict[str, PocketItem] = {}
    since: LenientInt = None

    @field_validator("list", mode="before")
    @classmethod
    def _listing(cls, value: Any) -> Any:
        if value is None or (isinstance(value, list) and not value):
            return {}
        if isinstance(value, list):  # a list of items: key them by id
            return {str(v.get("item_id")): v for v in value if isinstance(v, dict)}
        return value


class OAuthRequestResponse(_Lenient):
    code: str
    state: str | None = None


class OAuthAuthorizeResponse(_Lenient):
    access_token: str
    username: str | None = None


# -- the client --------------------------------------------------------------------


class PocketClient:
    """The calls Tuckaway makes; one instance per set of credentials, cheap to create."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        consumer_key: str,
        access_token: str | None = None,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self._consumer_key = consumer_key
        self._access_token = access_token
        self.timeout_s = timeout_s

    @classmethod
    def from_credentials(
        cls, session: aiohttp.ClientSession, creds: PocketCredentials, *, timeout_s: float = 30.0
    ) -> PocketClient:
        return cls(
            session, creds.base_url, creds.consumer_key, creds.access_token, timeout_s=timeout_s
        )

    def __repr__(self) -> str:
        return f"PocketClient({self.base_url!r})"

    # -- endpoints -------------------------------------------------------------

    async def add(
        self,
        url: str,
        title: str | None = None,
        tags: Sequence[str] | str = (),
        *,
        time: int | str | None = None,
    ) -> PocketItem | None:
        """``POST /v3/add``: save one url; the service's item, or None when the service
        said it saved it without saying which item it is."""
        body: dict[str, Any] = {"url": url}
        if title and title.strip():  # Pocket refused a present but empty title (400)
            body["title"] = title
        joined = tags if isinstance(tags, str) else ",".join(t for t in tags if t.strip())
        if joined:
            body["tags"] = joined
        if time is not None:
            body["time"] = str(time)
        answer = _parse(AddResponse, await self._call("/v3/add", body, auth=True), "/v3/add")
        if answer.item is None and answer.status == 0:
            raise BadRequest("the service did not save it (status 0, no item)")
        return answer.item

    async def send(self, actions: Sequence[Mapping[str, Any]]) -> SendResponse:
        """``POST /v3/send``: the actions in order, answered one entry each."""
        body = {"actions": [dict(a) for a in actions]}
        answer = _parse(SendResponse, await self._call("/v3/send", body, auth=True), "/v3/send")
        if len(answer.action_results) != len(actions):
            log.warning(
                "/v3/send answered %d results for %d actions",
                len(answer.action_results),
                len(actions),
            )
        return answer

    async def get(self, **params: Any) -> GetResponse:
        """``POST /v3/get`` with Pocket's parameters (``since``, ``state``, ``detailType`` ...)."""
        body = {k: v for k, v in params.items() if v is not None}
        return _parse(GetResponse, await self._call("/v3/get", body, auth=True), "/v3/get")

    async def oauth_request(
        self, redirect_uri: str, state: str | None = None
    ) -> OAuthRequestResponse:
        """Step 1 of the sign-in: a request token for ``redirect_uri``."""
        body: dict[str, Any] = {"redirect_uri": redirect_uri}
        if state is not None:
            body["state"] = state
        raw = await self._call("/v3/oauth/request", body, auth=False)
        return _parse(OAuthRequestResponse, raw, "/v3/oauth/request")

    async def oauth_authorize(self, code: str) -> OAuthAuthorizeResponse:
        """Step 3 of the sign-in: the approved request token -> access token and username."""
        raw = await self._call("/v3/oauth/authorize", {"code": code}, auth=False)
        return _parse(OAuthAuthorizeResponse, raw, "/v3/oauth/authorize")

    # -- plumbing -------------------------------------------------------------

    async def _call(self, path: str, body: Mapping[str, Any], *, auth: bool) -> Any:
        # Here, not at the top: the backend (and this module) load when a first write
        # arrives, inside its batching window; aiohttp loads once the batch goes out.
        import aiohttp

        self._check_allowance()
        payload: dict[str, Any] = dict(body)
        payload["consumer_key"] = self._consumer_key
        if auth:
            if not self._access_token:
                raise PocketAuthFailed("no Pocket access token; sign in again")
            payload["access_token"] = self._access_token
        data = json.dumps(payload).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Accept": "application/json",
            "Accept": "application/json",
        }
        url = self.base_url + path
        try:
            async with self._session.post(
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                allow_redirects=False,
            ) as resp:
                text = await resp.text(errors="replace")
                self._note_allowance(resp.status, resp.headers)
                if resp.status != 200:
                    raise self._error(path, resp.status, resp.headers, text)
        except TimeoutError:
            raise _unavailable(
                f"Pocket did not answer {path} within {self.timeout_s:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise _unavailable(
                f"cannot reach Pocket at {self.base_url} ({type(exc).__name__})"
            ) from None
        try:
            return json.loads(text)
        except ValueError:
            raise _shape_error(path, "the answer is not JSON") from None

    def _error(
        self, path: str, status: int, headers: CIMultiDictProxy[str], text: str
    ) -> PocketError:
        limits = RateLimits.from_headers(headers)
        detail = self._scrub(headers.get("X-Error") or _text_of(text) or f"HTTP {status}")
        error_code = headers.get("X-Error-Code")
        suffix = f" (HTTP {status}" + (f", code {error_code})" if error_code else ")")
        error: PocketError
        if status == 400:
            error = BadRequest(detail)
        elif status == 401:
            error = PocketAuthFailed(f"Pocket refused the access token: {detail}{suffix}")
        elif status in (403, 429) and (limits.exhausted or status == 429):
            wait = limits.retry_after
            if status == 429 and not limits.exhausted:
                said = wait_s(headers)
                wait = wait if said is None else said
            error = PocketRateLimited(f"Pocket is rate limiting: {detail}{suffix}", wait)
        elif status == 403:
            error = PermissionDenied(f"Pocket denied access: {detail}{suffix}")
        elif status >= 500:
            error = PocketUnavailable(f"Pocket is failing: {detail}{suffix}")
        else:
            error = PocketUnavailable(f"Pocket answered {path} unexpectedly: {detail}{suffix}")
        error.status = status
        error.error_code = error_code
        error.limits = limits
        log.info("pocket %s: HTTP %d code=%s %s", path, status, error_code, detail)
        return error

    @property
    def _window(self) -> str:
        """Whose allowance: the service, the consumer key and the account (token hashed)."""
        token = hashlib.sha256((self._access_token or "").encode()).hexdigest()[:16]
        return f"{self.base_url}|{self._consumer_key}|{token}"

    def _check_allowance(self) -> None:
        """Raise :class:`PocketRateLimited` while the service said its allowance is used up."""
        left = _HOLDS.left(self._window)
        if left is None:
            return
        raise PocketRateLimited(
            f"Pocket's rate limit is used up until it resets; try again in {math.ceil(left)}s",
            left,
        )

    def _note_allowance(self, status: int, headers: Mapping[str, str]) -> None:
        """After any answer saying ``X-Limit-*-Remaining: 0`` (a 200 too), send nothing
        more until the window resets: the next call could only be refused."""
        limits = RateLimits.from_headers(headers)
        if limits.user_remaining == 0 or limits.key_remaining == 0:
            _HOLDS.hold(self._window, limits.retry_after)
            log.info("pocket's allowance is used up; holding for %.0fs", limits.retry_after)

    def _scrub(self, text: str) -> str:
        """A service may echo what it was sent: never let a secret into a message."""
        for secret in (self._access_token, self._consumer_key):
            if secret:
                text = text.replace(secret, "***")
        return text


def _text_of(body: str) -> str:
    """A short readable line from an error body that may be JSON, text or HTML."""
    body = body.strip()
    if not body:
        return ""
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if isinstance(value, dict):
        for key in ("error", "message", "error_description"):
            found = value.get(key)
            if isinstance(found, str):
                return found[:_MAX_MESSAGE]
    title = re.search(r"<title[^>]*>(.*?)</title>", body, re.I | re.S)
    body = title.group(1) if title and title.group(1).strip() else re.sub(r"<[^>]+>", " ", body)
    return " ".join(body.split())[:_MAX_MESSAGE]


def _unavailable(message: str) -> PocketUnavailable:
    error = PocketUnavailable(message)
    log.info("pocket: %s", message)
    return error


def _shape_error(path: str, why: str) -> PocketUnavailable:
    return _unavailable(f"Pocket answered {path} with something unexpected ({why})")


def _parse(model: type[_M], raw: Any, path: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        why = (
            f"{'.'.join(str(p) for p in errors[0]['loc'])}: {errors[0]['msg']}"
            if errors
            else "invalid"
        )
        raise _shape_error(path, why) from None
