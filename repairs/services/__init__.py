"""Every change to repairs data happens in this package, one module per workflow."""

from .calls import (  # noqa: F401
    NewCustomer,
    NewProduct,
    NewSite,
    repair_call_cancel,
    repair_call_close,
    repair_call_dispatch,
    repair_call_log,
    repair_call_record_arrival,
    repair_call_resolve,
    repair_calls_mark_overdue,
    technicians_of_unit,
)
