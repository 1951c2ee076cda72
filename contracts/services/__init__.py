"""Every change to contracts data happens in this package, one module per workflow."""

from .contracts import (  # noqa: F401
    contract_create,
    contract_term_renew,
    contract_type_reschedule_notices,
    split_serial_numbers,
    staff_of_unit,
)
from .imports import (  # noqa: F401
    contract_import_accept_valid_rows,
    contract_import_restart,
    contract_import_run,
    contract_import_upload,
)
from .notices import (  # noqa: F401
    contract_daily_run,
    contract_notices_issue,
    contract_terms_expire,
    expiry_notice_pdf,
    expiry_notices_deliver_pending,
    renewal_follow_up_assign,
    renewal_follow_up_record,
)
from .planned import contract_planned_visits_generate  # noqa: F401
