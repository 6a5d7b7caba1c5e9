"""A district's student key settings (issue 20, item 5): its admins set the format of the
pseudonymous student keys its consent records use (``partners.student_keys``).

Anyone who is not an admin of the district, its other members included, gets 404, as on the
People and API pages. No two-factor step: the setting only narrows which keys may be
written; it grants nobody anything.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from collaboratory.errors import DomainError
from collaboratory.web import add_to_form
from partners.forms_student_keys import StudentKeyFormatForm
from partners.http import AuthenticatedHttpRequest
from partners.student_key_settings import (
    KeysNotMatching,
    district_administered_by,
    organisation_student_key_format_set,
)
from partners.student_keys import LEGEND, FormatError, format_of, parse_format


@never_cache
@login_required
def student_key_settings(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    # Queries (GET): session, user, the district among those the user administers.
    # A POST adds the count of recorded keys a new format would not admit, the lock, the
    # save's checks and the audit entry.
    district = district_administered_by(request.user, slug)
    if district is None:
        raise Http404("No such district among those you administer.")
    form = StudentKeyFormatForm(
        request.POST if request.method == "POST" else None,
        initial={"student_key_format": district.student_key_format},
    )
    not_matching = 0
    if request.method == "POST" and form.is_valid():
        try:
            check = organisation_student_key_format_set(
                organisation=district,
                by=request.user,
                student_key_format=form.cleaned_data["student_key_format"],
                keep_keys_not_matching=form.cleaned_data["keep_keys_not_matching"],
            )
        except KeysNotMatching as error:
            not_matching = error.count
            add_to_form(form, error)
        except DomainError as error:
            add_to_form(form, error)
        else:
            if check.key_format is None:
                messages.success(
                    request, "No key format is set: keys shaped like names are refused."
                )
            else:
                kept = (
                    f" {check.keys_not_matching:,} key(s) recorded before keep their old form."
                    if check.keys_not_matching
                    else ""
                )
                messages.success(
                    request,
                    f"Student keys must now be {check.key_format.description}.{kept}",
                )
            return redirect("organisation-student-keys", slug=district.slug)
    typed = None
    if form.is_bound:
        try:
            typed = parse_format(form.data.get("student_key_format", ""))
        except FormatError:
            typed = None
    return render(
        request,
        "partners/student_keys.html",
        {
            "organisation": district,
            "current": format_of(district),
            "typed": typed,
            "form": form,
            "not_matching": not_matching,
            "legend": LEGEND,
        },
        status=400 if form.errors else 200,
    )
