"""Who made a change, for the audit trail."""

from dataclasses import dataclass

from organizations.models import ApiKey


@dataclass(frozen=True)
class Actor:
    key: ApiKey | None = None
    user: object | None = None  # an admin user
    system: str = ""  # e.g. "stripe", "expire_holds"

    @property
    def label(self) -> str:
        if self.key is not None:
            return f"key:{self.key.prefix}"
        if self.user is not None:
            return f"user:{self.user.get_username()}"
        return f"system:{self.system}" if self.system else "system"


SYSTEM = Actor()


def actor_for_request(request) -> Actor:
    key = request.auth if isinstance(getattr(request, "auth", None), ApiKey) else None
    user = getattr(request, "user", None)
    if key is None and user is not None and getattr(user, "is_authenticated", False):
        return Actor(user=user)
    return Actor(key=key)
