"""One row read the way a detail page needs it.

``QuerySet.get()`` adds LIMIT 21 (to report "more than one"), and with a limit PostgreSQL weighs fast-start
plans for every order of a multi-join query's joins: the complaint case's fifteen joins took 11 ms to plan with
it against 3 ms without. A default ordering on the model adds a sort the one row does not need. So
``get_one`` reads the rows as a list, unordered and unlimited (a primary key or a unique lookup finds at most
one), and raises what ``get()`` raises.
"""

from django.db.models import QuerySet


def get_one(queryset: QuerySet, **lookup):
    """The one row of ``queryset`` matching ``lookup``; the model's DoesNotExist or MultipleObjectsReturned else."""
    model = queryset.model
    found = list(queryset.filter(**lookup).order_by())
    if not found:
        raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
    if len(found) > 1:
        raise model.MultipleObjectsReturned(f"get_one() returned {len(found)} {model._meta.object_name} rows.")
    return found[0]
