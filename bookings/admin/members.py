"""Members of the owner's organizations, invited by email; platform users are the superuser's.

A merchant never sees the platform's list of users: members are added by email (a new admin
user is created for a new address) and appear only as memberships of the owner's organizations.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from bookings.admin.forms import domain_message
from bookings.admin.tenancy import OWNERS, TenantAdmin, TenantModelForm, choices_of, is_superuser, scope
from organizations.errors import DomainError
from organizations.members import membership_invite, membership_is_last_owner
from organizations.models import Membership, Organization


class InviteForm(forms.Form):
    email = forms.EmailField(help_text="They receive a link to choose their password.")
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        initial=Membership.Role.STAFF,
        help_text="Owner: everything of the organization. Staff: bookings, the calendar and customers.",
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        organizations = scope(Organization.objects.all(), request, OWNERS)
        choices_of(self, "organization").queryset = organizations
        if len(organizations) == 1:
            self.fields["organization"].initial = organizations[0].pk


class MembershipForm(TenantModelForm):
    class Meta:
        model = Membership
        fields = ["role"]

    def clean_role(self):
        role = self.cleaned_data["role"]
        if role != Membership.Role.OWNER and membership_is_last_owner(self.instance):
            raise forms.ValidationError("This is the organization's only owner: make someone else owner first.")
        return role


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    form = MembershipForm
    list_display = ["member", "email", "organization", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "organization"]
    readonly_fields = ["member", "email", "organization"]
    fields = ["member", "email", "organization", "role"]

    @admin.display(description="Member", ordering="user__username")
    def member(self, membership: Membership) -> str:
        return membership.user.get_username()

    @admin.display(description="Email", ordering="user__email")
    def email(self, membership: Membership) -> str:
        return membership.user.email

    def has_delete_permission(self, request, obj=None):
        if obj is not None and membership_is_last_owner(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time: the last owner stays
        return actions

    def add_view(self, request, form_url="", extra_context=None):
        """Invite by email: the owner's organizations only, no list of the platform's users."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST or None, request=request)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                membership = membership_invite(
                    organization=data["organization"], email=data["email"], role=data["role"], invited_by=request.user
                )
            except DomainError as exc:
                form.add_error(None, domain_message(exc.detail))
            else:
                self.log_addition(request, membership, [{"added": {}}])
                messages.success(request, f"Invitation sent to {data['email']} ({membership.get_role_display()}).")
                return HttpResponseRedirect(reverse("admin:organizations_membership_changelist"))
        return TemplateResponse(
            request,
            "admin/workspace/simple_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Invite a member",
                "form": form,
                "submit": "Send the invitation",
            },
        )


class SuperuserOnly:
    """The platform's own tables: users and groups are the superuser's, never a merchant's."""

    def has_module_permission(self, request):
        return is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return is_superuser(request)

    def has_add_permission(self, request, *args):
        return is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return is_superuser(request)


class PlatformUserAdmin(SuperuserOnly, UserAdmin):
    pass


class PlatformGroupAdmin(SuperuserOnly, GroupAdmin):
    pass


for model, model_admin in ((get_user_model(), PlatformUserAdmin), (Group, PlatformGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
