"""The partnership filter's choices and search's visible trios come from statements built
once per process (collaboratory.prepared.shaped_rows), the viewer's id a parameter: each
viewer still gets exactly the trios the access rule gives them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from partners import selectors
from partners.selectors import trio_choices, trios_visible_to, visible_trio_ids


def test_every_viewer_gets_the_trios_the_rule_gives_them(demo, outsider, builds):
    builds.watch(selectors, "_trio_choices_statement")
    builds.watch(selectors, "_trio_ids_statement")
    root = get_user_model().objects.create_superuser("choices-root", password="x" * 16)
    viewers = [*demo["users"].values(), outsider, root]
    some = 0
    for viewer in viewers:
        rule = trios_visible_to(viewer).order_by("name")
        assert trio_choices(viewer, 51) == list(rule.values_list("id", "name")[:51])
        assert trio_choices(viewer, 2) == list(rule.values_list("id", "name")[:2])
        assert sorted(visible_trio_ids(viewer)) == sorted(rule.values_list("id", flat=True))
        some += bool(visible_trio_ids(viewer))
    assert 0 < some < len(viewers) + 1
    assert trio_choices(outsider, 51) == []
    # Built once per shape: (superuser or not, the limit) and (superuser or not).
    assert sorted(builds.all) == sorted(
        [
            ("_trio_choices_statement", (False, 51)),
            ("_trio_choices_statement", (False, 2)),
            ("_trio_choices_statement", (True, 51)),
            ("_trio_choices_statement", (True, 2)),
            ("_trio_ids_statement", (False,)),
            ("_trio_ids_statement", (True,)),
        ]
    )


def test_inactive_and_anonymous_viewers_get_none(demo):
    director = demo["users"]["director"]
    assert visible_trio_ids(director)
    director.is_active = False
    assert trio_choices(director, 51) == [] and visible_trio_ids(director) == []
    assert trio_choices(AnonymousUser(), 51) == [] and visible_trio_ids(AnonymousUser()) == []
