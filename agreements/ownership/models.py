"""Each party's position on who owns, controls, stewards and processes a data element, and
the parties' explicit agreement to differ (vocabulary: ``agreements.ownership.vocabulary``).

Imported by ``agreements.models`` so they belong to the agreements app. Rows are written by
``agreements.ownership.services`` only; the schedule of the consolidated text shows them, so
they are frozen with the text from legal review on.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from agreements.models import DataElement
from agreements.ownership.vocabulary import Owner, Party, Steward
from partners.models import Organisation


@pghistory.track()
class OwnershipPosition(models.Model):
    """One party's position on one data element: owner, controller, steward, processors.
    Tracked by pghistory: a restated position replaces the row, and the text as it stood
    earlier (agreements.review.selectors) is rebuilt from the recorded states."""

    data_element = models.ForeignKey(
        DataElement, on_delete=models.CASCADE, related_name="ownership_positions"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The party whose position this is.",
    )
    owner = models.CharField(max_length=20, choices=Owner.choices)
    controller = models.CharField(max_length=20, choices=Party.choices)
    steward = models.CharField(max_length=20, choices=Steward.choices)
    processors = ArrayField(
        models.CharField(max_length=20, choices=Party.choices),
        default=list,
        blank=True,
        help_text="Parties that process the data on the controller's instructions.",
    )
    note = models.TextField(blank=True, help_text="The party's reasons; not compared.")
    stated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    stated_at = models.DateTimeField()

    class Meta:
        ordering = ["data_element", "organisation_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_element", "organisation"], name="ownership_one_position_per_party"
            ),
            models.CheckConstraint(
                condition=models.Q(owner__in=Owner.values), name="ownership_owner_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(controller__in=Party.values),
                name="ownership_controller_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(steward__in=Steward.values), name="ownership_steward_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}'s position on {self.data_element_id}"

    @property
    def answers(self) -> tuple[str, str, str, tuple[str, ...]]:
        """What is compared between parties (the note is not)."""
        return (self.owner, self.controller, self.steward, tuple(sorted(self.processors)))


class OwnershipDifference(models.Model):
    """The parties record that they differ on a data element, in a wording each confirms.
    Voided when a party changes its position afterwards."""

    data_element = models.ForeignKey(
        DataElement, on_delete=models.CASCADE, related_name="ownership_differences"
    )
    wording = models.TextField(help_text="What the schedule says about the difference.")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", help_text="Who proposed it."
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["data_element", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_element"],
                condition=models.Q(voided_at__isnull=True),
                name="ownership_one_live_difference",
            ),
            models.CheckConstraint(
                condition=~models.Q(wording=""), name="ownership_difference_has_wording"
            ),
        ]

    def __str__(self) -> str:
        return f"Agreed to differ on {self.data_element_id}"


class OwnershipConfirmation(models.Model):
    """One party confirms the wording of an agreement to differ."""

    difference = models.ForeignKey(
        OwnershipDifference, on_delete=models.CASCADE, related_name="confirmations"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField()

    class Meta:
        ordering = ["difference", "confirmed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["difference", "organisation"], name="ownership_confirm_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} confirms {self.difference_id}"
