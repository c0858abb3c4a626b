"""Members of an organization: an owner invites someone by email to work in the admin.

The invitee becomes an admin user (a staff user of Django's admin, with no password until they
choose one through the emailed link) with a Membership and its role. What a role may do is the
admin's business (bookings/admin/tenancy.py).
"""

import logging
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from organizations.errors import Conflict, InvalidInput
from organizations.models import Membership, Organization

logger = logging.getLogger(__name__)

# The admin's page where an invitee chooses their password (bookings/admin/site.py names it).
ACCEPT_URL_NAME = "admin:invitation_accept"


def membership_invite(
    *, organization: Organization, email: str, role: str, invited_by: AbstractBaseUser | None = None
) -> Membership:
    """Make `email` a member of `organization` with `role`, creating their admin user when new, and
    email them (after commit) a link to choose a password, or to log in if they have one. 409 when
    they are a member already."""
    email = (email or "").strip().lower()
    if "@" not in email:
        raise InvalidInput("email: an email address is required")
    if role not in Membership.Role.values:
        raise InvalidInput(f"role: '{role}' is not a role")
    users = get_user_model()
    with transaction.atomic():
        user = users.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).order_by("id").first()
        if user is None:
            user = users.objects.create_user(username=email, email=email, is_staff=True)
        elif not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        if Membership.objects.filter(user=user, organization=organization).exists():
            raise Conflict(f"{email} is already a member of {organization.name}")
        membership = Membership.objects.create(user=user, organization=organization, role=role)
        inviter = invited_by.get_username() if invited_by is not None else ""
        transaction.on_commit(partial(invitation_send, membership.pk, invited_by=inviter))
    return membership


def invitation_send(membership_id: int, *, invited_by: str = "") -> bool:
    """Email the invitation of a membership just committed; a failing mail server is logged, not raised."""
    membership = Membership.objects.select_related("user", "organization").filter(pk=membership_id).first()
    if membership is None or not membership.user.email:
        return False
    user = membership.user
    if user.has_usable_password():
        link = settings.SITE_URL + reverse("admin:login")
    else:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = settings.SITE_URL + reverse(ACCEPT_URL_NAME, kwargs={"uidb64": uid, "token": token})
    context = {
        "organization": membership.organization,
        "role": membership.get_role_display(),
        "invited_by": invited_by,
        "link": link,
        "username": user.get_username(),
        "needs_password": not user.has_usable_password(),
    }
    try:
        send_mail(
            subject=f"You are invited to {membership.organization.name}",
            message=render_to_string("admin/workspace/invitation_email.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    except Exception:
        logger.exception("Could not send the invitation of membership %s", membership_id)
        return False
    return True


def membership_is_last_owner(membership: Membership) -> bool:
    """True when `membership` is its organization's only owner: it may be neither demoted nor removed
    (someone must be able to manage the organization)."""
    if membership.pk is None or membership.role != Membership.Role.OWNER:
        return False
    owners = Membership.objects.filter(organization_id=membership.organization_id, role=Membership.Role.OWNER)
    return not owners.exclude(pk=membership.pk).exists()
