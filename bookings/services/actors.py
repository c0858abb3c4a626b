"""Who made a change, for the audit trail."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from organizations.models import ApiKey

if TYPE_CHECKING:  # for the annotations only: services need neither DRF nor the user model at import
    from django.contrib.auth.models import User
    from django.http import HttpRequest
    from rest_framework.request import Request


@dataclass(frozen=True)
class Actor:
    key: ApiKey | None = None
    user: "User | None" = None  # an admin user
    system: str = ""  # e.g. "stripe", "expire_holds"

    @property
    def label(self) -> str:
        if self.key is not None:
            return f"key:{self.key.prefix}"
        if self.user is not None:
            return f"user:{self.user.get_username()}"
        return f"system:{self.system}" if self.system else "system"


SYSTEM = Actor()


def actor_for_request(request: "HttpRequest | Request") -> Actor:
    auth = getattr(request, "auth", None)  # DRF's requests only
    key = auth if isinstance(auth, ApiKey) else None
    user = getattr(request, "user", None)
    if key is None and user is not None and getattr(user, "is_authenticated", False):
        return Actor(user=user)
    return Actor(key=key)
