"""Admin for invitation links: create one (its link is shown exactly once), list
them with their state, revoke."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import SafeString

from integrations.invitations import issue
from integrations.models import Invitation, InvitationState
from socialportal.admin_helpers import status_badge


class InvitationAddForm(forms.ModelForm):
    valid_days = forms.IntegerField(
        min_value=1, max_value=90, initial=7, help_text="How long the link works."
    )

    class Meta:
        model = Invitation
        fields = ["tenant"]


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return list(InvitationState.choices)

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Invitation]
    ) -> QuerySet[Invitation]:
        now = timezone.now()
        live = Q(revoked_at=None, used_at=None)
        conditions = {
            InvitationState.REVOKED: ~Q(revoked_at=None),
            InvitationState.USED: Q(revoked_at=None) & ~Q(used_at=None),
            InvitationState.EXPIRED: live & Q(expires_at__lte=now),
            InvitationState.PENDING: live & Q(expires_at__gt=now),
        }
        condition = conditions.get(self.value())  # type: ignore[call-overload]
        return queryset.filter(condition) if condition is not None else queryset


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "tenant",
        "coloured_state",
        "created_by",
        "created_at",
        "expires_at",
        "used_at",
        "connection",
    ]
    list_filter = [StateFilter, "tenant"]
    list_select_related = ["tenant", "created_by", "connection"]
    actions = ["revoke"]
    readonly_fields = [
        "tenant",
        "coloured_state",
        "created_by",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "connection",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Invitation | None = None
    ) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Invitation | None = None) -> Any:
        return self.readonly_fields if obj is not None else ["tenant", "valid_days"]

    @admin.display(description="state")
    def coloured_state(self, invitation: Invitation) -> SafeString:
        state = invitation.state
        return status_badge(_BADGE[state], state.label)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        if not change:
            link = issue(obj, request.user, form.cleaned_data["valid_days"])  # type: ignore[arg-type]
            request._invitation_link = link  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self,
        request: HttpRequest,
        obj: Invitation,
        post_url_continue: str | None = None,
    ) -> HttpResponse:
        # The one and only time the link exists outside the owner's inbox.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "invitation": obj,
            "link": request._invitation_link,  # type: ignore[attr-defined]
            "title": "Instagram invitation created",
        }
        response = TemplateResponse(
            request, "admin/integrations/invitation/link.html", context
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        count = queryset.filter(revoked_at=None, used_at=None).update(
            revoked_at=timezone.now()
        )
        self.message_user(request, f"Revoked {count} invitation(s).")


_BADGE = {
    InvitationState.PENDING: "pending",
    InvitationState.USED: "processed",
    InvitationState.EXPIRED: "ignored",
    InvitationState.REVOKED: "failed",
}
