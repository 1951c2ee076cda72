"""Every change to repairs data happens in this package, one module per workflow."""

from .calls import (  # noqa: F401
    NewCustomer,
    NewProduct,
    NewSite,
    repair_call_cancel,
    repair_call_close,
    repair_call_dispatch,
    repair_call_log,
    repair_call_resolve,
    repair_calls_mark_overdue,
    technicians_of_unit,
)
from .carry_in import (  # noqa: F401
    WORKSHOP_STATUSES,
    carry_in_open,
    register_entry_receive,
    register_entry_release,
    repair_card_delay_letter_sent,
    repair_card_report_delay,
    repair_card_reschedule,
    repair_card_transition,
    repair_cards_escalate_late,
)
from .coverage import CoverDecision, service_is_paid  # noqa: F401
from .fees import (  # noqa: F401
    FeeAccount,
    fee_account_for,
    fee_balance_collect,
    fee_balance_write_off,
    fee_collection_confirm_handover,
    fee_collection_record,
    fee_policy_for,
    fee_receipt_number_next,
    settlement_for,
)
from .quotes import (  # noqa: F401
    QuoteLine,
    quote_unpaid,
    repair_card_fee_record,
    repair_card_part_use,
    repair_quote_approve_by_phone,
    repair_quote_approve_signed,
    repair_quote_decline,
    repair_quote_release_unpaid,
    repair_quote_save,
)
from .visits import (  # noqa: F401
    Location,
    repair_call_enter_arrival,
    repair_call_leave_unfinished,
    repair_call_plan_visit,
    repair_call_record_arrival,
    visit_record_no_signature,
)
from .vouchers import (  # noqa: F401
    PartLine,
    service_voucher_correct,
    service_voucher_create,
    service_voucher_mark_invoiced,
    service_voucher_sign,
    service_voucher_update,
)
