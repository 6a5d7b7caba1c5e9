from django.contrib import admin
from django.db import transaction

from partners.forms import TrioForm
from partners.models import (
    Collaboratory,
    Membership,
    Organisation,
    ResearchQuestion,
    Trio,
    TrioMember,
)
from partners.services import trio_set_members


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "contact_name", "contact_email"]
    list_filter = ["kind"]
    search_fields = ["name", "slug", "contact_name", "contact_email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    # Set by the district's admins on its Student keys page (partners/views_student_keys.py),
    # where a format that recorded keys miss needs their confirmation.
    readonly_fields = ["student_key_format"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role", "organisation__kind", "organisation"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]


class ResearchQuestionInline(admin.TabularInline):
    model = ResearchQuestion
    extra = 1
    fields = ["position", "text"]


class TrioMemberInline(admin.TabularInline):
    """Read-only view of the members; they are chosen with the three role fields above."""

    model = TrioMember
    extra = 0
    can_delete = False
    fields = ["role", "organisation"]
    readonly_fields = ["role", "organisation"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Trio)
class TrioAdmin(admin.ModelAdmin):
    form = TrioForm
    list_display = ["name", "collaboratory", "member_names", "created_at"]
    list_filter = ["collaboratory", "members__organisation__kind"]
    search_fields = ["name", "slug", "members__organisation__name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TrioMemberInline, ResearchQuestionInline]
    fieldsets = [
        (None, {"fields": ["collaboratory", "name", "slug", "description"]}),
        ("Members", {"fields": ["research", "district", "developer"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("collaboratory")
            .prefetch_related("members__organisation")
        )

    @admin.display(description="Members")
    def member_names(self, obj: Trio) -> str:
        return ", ".join(m.organisation.name for m in obj.members.all())

    @transaction.atomic
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        trio_set_members(
            trio=obj,
            research=form.cleaned_data["research"],
            district=form.cleaned_data["district"],
            developer=form.cleaned_data["developer"],
        )


@admin.register(Collaboratory)
class CollaboratoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "created_at"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["staff"]


@admin.register(ResearchQuestion)
class ResearchQuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "trio", "position"]
    list_filter = ["trio__collaboratory", "trio"]
    search_fields = ["text", "trio__name"]
