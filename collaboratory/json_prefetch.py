"""Prefetch small related collections inside the parent's query, as JSON.

``prefetch_related`` costs one query per relation, so a page showing an agreement with its
parties, clauses, approvals, signatures and timeline costs a dozen round trips. On PostgreSQL
each collection can instead travel with its parent row as ``ARRAY(SELECT json_build_object(...))``
and be turned back into ordinary model instances, stored exactly where ``prefetch_related``
stores them, so ``agreement.approvals.all()`` and ``approval.organisation`` cost no query.

Use it for collections that are small by nature (the parties of a trio, an agreement's
signatures); keep ``prefetch_related`` for anything that can grow large.

    qs = with_json_prefetch(Agreement.objects.all(), APPROVALS, SIGNATURES)

Each ``JsonPrefetch`` names the accessor it fills (``attr``), the rows (a queryset filtered
on ``OuterRef("pk")`` of the parent, ordered), the forward relations to embed (``select``,
one level, like ``select_related``), nested collections (``children``), and optionally
``via``: a forward relation of the parent whose object receives the collection (for
``agreement.template_version.clauses``, ``via="template_version"``), in which case the
queryset filters on ``OuterRef("<via>_id")``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import Case, Expression, F, Q, QuerySet, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject
from django.db.models.query import ModelIterable

PREFIX = "jsonprefetch_"
_REGISTRY: dict[str, JsonPrefetch] = {}


@dataclass(frozen=True, eq=False)
class JsonPrefetch:
    attr: str
    queryset: QuerySet
    select: tuple[str, ...] = ()
    children: tuple[JsonPrefetch, ...] = ()
    via: str | None = None
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        model = self.queryset.model
        key = f"{PREFIX}{model._meta.label_lower.replace('.', '_')}_{self.attr}_{id(self)}"
        object.__setattr__(self, "key", key)
        _REGISTRY[key] = self

    @property
    def model(self) -> type[models.Model]:
        return self.queryset.model

    def expression(self) -> ArraySubquery:
        """``ARRAY(SELECT json_build_object(...) ...)`` for one parent row."""
        queryset = self.queryset
        pairs: dict[str, object] = {f.attname: F(f.attname) for f in _columns(self.model)}
        for name in self.select:
            related = _forward_relation(self.model, name).related_model
            pairs[f"{PREFIX}{name}"] = JSONObject(
                **{f.attname: F(f"{name}__{f.attname}") for f in _columns(related)}
            )
        for child in self.children:
            queryset = queryset.annotate(**{child.key: child.expression()})
            pairs[child.key] = F(child.key)
        return ArraySubquery(queryset.values(json=JSONObject(**pairs)))

    def hydrate(self, rows: list[dict] | None, parent: models.Model) -> list[models.Model]:
        instances = []
        back_reference = _back_reference(self, parent)
        for row in rows or []:
            instance = _instance(self.model, row)
            for name in self.select:
                relation = _forward_relation(self.model, name)
                related_model = relation.related_model
                data = row.get(f"{PREFIX}{name}") or {}
                related = None
                if data.get(related_model._meta.pk.attname) is not None:
                    related = _instance(related_model, data)
                relation.set_cached_value(instance, related)
            for child in self.children:
                _store(instance, child.attr, child.hydrate(row.get(child.key), instance))
            if back_reference is not None:
                back_reference.set_cached_value(instance, parent)
            instances.append(instance)
        return instances


def with_json_prefetch(queryset: QuerySet, *specs: JsonPrefetch, when: Q | None = None) -> QuerySet:
    """``queryset`` with ``specs`` fetched in its own query and hydrated on iteration.

    With ``when`` (a condition on the row, annotations included) the collections travel
    only with the rows it matches; PostgreSQL skips the subqueries of the others, whose
    accessors stay unfilled (using them queries as usual)."""
    fetched: dict[str, Expression] = {}
    for spec in specs:
        subquery = _compiled(spec, queryset)
        fetched[spec.key] = (
            subquery
            if when is None
            else Case(When(when, then=subquery), output_field=subquery.output_field)
        )
    queryset = queryset.annotate(**fetched)
    if queryset._iterable_class is ModelIterable:
        queryset._iterable_class = JsonPrefetchIterable
    return queryset


#: (spec key, parent model, database alias) -> the spec's SQL, compiled once.
_COMPILED: dict[tuple[str, type[models.Model], str], RawSQL] = {}


def _compiled(spec: JsonPrefetch, queryset: QuerySet) -> RawSQL:
    """The spec's subquery as SQL, built and compiled by the ORM once per parent model.

    Building the nested ``JSONObject`` expressions and compiling them costs ~60 ms of Python
    for the agreement page's dozen collections, every time, far more than PostgreSQL takes to
    run the query. The SQL only depends on the spec and on the parent's table (the subquery
    is correlated with the parent's base table, whose alias in a top-level query is its own
    name), so it is compiled once and reused as ``RawSQL``.
    """
    cache_key = (spec.key, queryset.model, queryset.db)
    raw = _COMPILED.get(cache_key)
    if raw is None:
        probe = queryset.model._default_manager.using(queryset.db).annotate(
            **{spec.key: spec.expression()}
        )
        annotation = probe.query.annotations[spec.key]
        compiler = probe.query.get_compiler(queryset.db)
        sql, params = compiler.compile(annotation)
        # The ORM's own compilation of our expressions, values kept as parameters: no input.
        raw = RawSQL(sql, tuple(params), output_field=annotation.output_field)  # noqa: S611
        _COMPILED[cache_key] = raw
    return raw


class JsonPrefetchIterable(ModelIterable):
    def __iter__(self) -> Iterator[models.Model]:
        for obj in super().__iter__():
            for key in [k for k in obj.__dict__ if k.startswith(PREFIX)]:
                spec = _REGISTRY[key]
                rows = obj.__dict__.pop(key)
                if rows is None:  # not fetched for this row (``when``); ARRAY() is never NULL
                    continue
                target = getattr(obj, spec.via) if spec.via else obj
                if target is not None:
                    _store(target, spec.attr, spec.hydrate(rows, target))
            yield obj


def _forward_relation(model: type[models.Model], name: str) -> models.ForeignObject:
    """``model``'s forward relation ``name`` (a foreign key or one-to-one): ``select`` embeds
    only those."""
    relation = model._meta.get_field(name)
    if not isinstance(relation, models.ForeignObject):
        raise TypeError(
            f"{model.__name__}.{name} is not a forward relation: it cannot be selected."
        )
    return relation


def _columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def _instance(model: type[models.Model], row: dict) -> models.Model:
    fields = _columns(model)
    values = [f.to_python(row.get(f.attname)) for f in fields]
    return model.from_db("default", [f.attname for f in fields], values)


def _back_reference(spec: JsonPrefetch, parent: models.Model):
    """The child's forward FK to ``parent`` for a reverse one-to-many accessor, else None."""
    descriptor = getattr(type(parent), spec.attr, None)
    rel = getattr(descriptor, "rel", None)
    if rel is None or rel.many_to_many or getattr(descriptor, "reverse", False):
        return None
    return rel.field if rel.field.model is spec.model else None


def store_prefetched(instance: models.Model, attr: str, rows: Sequence[models.Model]) -> None:
    """Put ``rows`` (found some other way, e.g. from a cache) where a prefetch puts them."""
    _store(instance, attr, list(rows))


def _store(instance: models.Model, attr: str, rows: list[models.Model]) -> None:
    """Put ``rows`` where prefetch_related puts them, so ``instance.<attr>.all()`` uses them."""
    manager = getattr(instance, attr)
    queryset = manager.get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    cache_name = getattr(manager, "prefetch_cache_name", None) or (
        manager.field.remote_field.cache_name
    )
    # Django keeps prefetched results in this instance attribute, created on first use.
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[cache_name] = queryset
