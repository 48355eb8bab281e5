"""The access policy (admin > ban > premium > free) and handler decorators that enforce it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from core.models import User
from core.utils.errors import (
    AccessError,
    AppError,
    BannedError,
    ErrorCode,
    ErrorFactory,
    ErrorResponse,
    PremiumRequiredError,
    SubscriptionRequiredError,
)

__all__ = ["ChatKind", "Decision", "Gate", "Guards", "Reason", "decide", "one_read_per_update"]

_UPDATE_USERS: ContextVar[dict[int, User | None] | None] = ContextVar("update_users", default=None)


class one_read_per_update:  # noqa: N801 - used like a function: `with one_read_per_update():`
    """Within one update (the middleware opens it), the policy reads each user's record once,
    however many checks the handler makes (the ban, then the file's gate, then each inline
    result's): every update still reads it fresh, so a ban made on any instance holds at the
    next update everywhere. A class, not a generator: it runs for every update."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _UPDATE_USERS.set({})

    def __exit__(self, *_: object) -> None:
        _UPDATE_USERS.reset(self._token)


UserLookup = Callable[[int], Awaitable[User | None]]
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


class Gate(StrEnum):
    """Who may receive a piece of content."""

    FREE = "free"
    PREMIUM = "premium"


class Reason(StrEnum):
    ADMIN = "admin"
    FREE_CONTENT = "free_content"
    PREMIUM_USER = "premium_user"
    BANNED = "banned"
    PREMIUM_REQUIRED = "premium_required"
    JOIN_FIRST = "join_first"
    NOT_ADMIN = "not_admin"


class ChatKind(StrEnum):
    """Where the request came from: refusals in a group are not answered there (silence)."""

    PRIVATE = "private"
    GROUP = "group"
    INLINE = "inline"


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed, or refused as Banned / PremiumRequired / JoinFirst(channels)."""

    allowed: bool
    reason: Reason
    gate: Gate
    premium_info: str = ""  # how to get premium (PREMIUM_INFO), added to the refusal
    channels: tuple[int | str, ...] = ()  # JOIN_FIRST: the channels still to join
    silent: bool = False  # a refusal in a group: ignored there, never answered

    def error(self) -> AppError | None:
        """The error this denial maps to (None when allowed)."""
        if self.allowed:
            return None
        if self.reason is Reason.JOIN_FIRST:
            return SubscriptionRequiredError(self.channels)
        if self.reason is Reason.BANNED:
            return BannedError()
        if self.reason is Reason.PREMIUM_REQUIRED:
            base = ErrorFactory.user_message(ErrorCode.PREMIUM_REQUIRED)
            info = self.premium_info.strip()
            return PremiumRequiredError(user_message=f"{base}\n\n{info}" if info else None)
        return AccessError()

    def response(self, correlation_id: str | None = None) -> ErrorResponse | None:
        error = self.error()
        if error is None:
            return None
        return ErrorFactory.from_exception(error, correlation_id=correlation_id)


def decide(
    *,
    user_id: int,
    user: User | None,
    admins: frozenset[int],
    now: datetime,
    global_gate: Gate,
    link_gate: Gate | None = None,
    file_gate: Gate | None = None,
    missing_channels: Sequence[int | str] = (),
    chat: ChatKind = ChatKind.PRIVATE,
) -> Decision:
    """The one access decision, used in private chat, groups, inline and deep links alike.

    1. Admins are allowed, whatever a ban record says (and need join no channel). 2. Banned
    users are denied. 3. The gate is the link's override if set, else the file's, else the
    global setting. 4. A premium gate admits only users whose premium has not expired.
    5. Then force-subscribe: `missing_channels` (those the user has not joined) refuse with
    JoinFirst. A refusal in a group is `silent`: the bot does not answer chatter there.
    """
    gate = link_gate or file_gate or global_gate
    silent = chat is ChatKind.GROUP
    if user_id in admins:
        return Decision(allowed=True, reason=Reason.ADMIN, gate=gate)
    if user is not None and user.banned is not None:
        return Decision(allowed=False, reason=Reason.BANNED, gate=gate, silent=silent)
    if gate is Gate.PREMIUM and (user is None or not user.is_premium(now)):
        return Decision(allowed=False, reason=Reason.PREMIUM_REQUIRED, gate=gate, silent=silent)
    if missing_channels:
        return Decision(
            allowed=False,
            reason=Reason.JOIN_FIRST,
            gate=gate,
            channels=tuple(missing_channels),
            silent=silent,
        )
    if gate is Gate.FREE:
        return Decision(allowed=True, reason=Reason.FREE_CONTENT, gate=gate)
    return Decision(allowed=True, reason=Reason.PREMIUM_USER, gate=gate)


class Guards:
    """The policy bound to the app's admins, global gate, user lookup and clock."""

    def __init__(
        self,
        admins: Iterable[int],
        *,
        users: UserLookup,
        global_gate: Callable[[], Gate] = lambda: Gate.FREE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        premium_info: str = "",
    ) -> None:
        self.admins = frozenset(admins)
        self.premium_info = premium_info
        self._users = users
        self._global_gate = global_gate
        self._clock = clock

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    def decide(
        self,
        user_id: int,
        user: User | None,
        *,
        link_gate: Gate | None = None,
        file_gate: Gate | None = None,
        missing_channels: Sequence[int | str] = (),
    ) -> Decision:
        decision = decide(
            user_id=user_id,
            user=user,
            admins=self.admins,
            now=self._clock(),
            global_gate=self._global_gate(),
            link_gate=link_gate,
            file_gate=file_gate,
            missing_channels=missing_channels,
        )
        if self.premium_info and decision.reason is Reason.PREMIUM_REQUIRED:
            return replace(decision, premium_info=self.premium_info)
        return decision

    @property
    def global_gate(self) -> Gate:
        return self._global_gate()

    async def user(self, user_id: int) -> User | None:
        """The user record the policy needs (none is read for admins; once per update)."""
        if self.is_admin(user_id):
            return None
        seen = _UPDATE_USERS.get()
        if seen is not None and user_id in seen:
            return seen[user_id]
        user = await self._users(user_id)
        if seen is not None:
            seen[user_id] = user
        return user

    async def check(
        self, user_id: int, *, link_gate: Gate | None = None, file_gate: Gate | None = None
    ) -> Decision:
        user = await self.user(user_id)
        return self.decide(user_id, user, link_gate=link_gate, file_gate=file_gate)

    def require_admin(self, user_id: int | None) -> None:
        """Raise `AccessError` (answered "not allowed" by the middleware) unless an admin asks."""
        if user_id is None or not self.is_admin(user_id):
            raise AccessError

    async def banned(self, user_id: int) -> bool:
        """Whether `user_id` is refused everything (admins never are)."""
        user = await self.user(user_id)
        return user is not None and user.banned is not None


def _user_id(update: Any) -> int | None:
    user = getattr(update, "from_user", None)
    user_id = getattr(user, "id", None)
    return user_id if isinstance(user_id, int) else None
