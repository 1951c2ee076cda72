"""Every change to survey cards and customer opinions happens here (view → form → service)."""

from .actions import (
    improvement_action_confirm,
    improvement_action_execute,
    improvement_action_follow_up,
    improvement_action_propose,
)
from .appraisal import appraisal_months_record
from .attachments import case_attachment_add
from .cases import StageInput, complaint_case_open, complaint_case_transition
from .opinions import (
    customer_opinion_acknowledge,
    customer_opinion_classify,
    customer_opinion_close,
    customer_opinion_forward,
    customer_opinion_record,
    customer_opinion_resolve,
    opinion_follow_up_record,
)
from .reminders import reminder_slips_issue
from .returns import (
    case_cost_record,
    return_allowance_check,
    return_allowance_post,
    return_allowance_record,
    return_allowance_resolve,
)
from .surveys import (
    SurveyAlreadyAnswered,
    SurveyAnswer,
    SurveyLinkExpired,
    SurveyLinkInvalid,
    survey_card_answer_on_paper,
    survey_card_answer_online,
    survey_cards_issue,
)

__all__ = [
    "StageInput",
    "SurveyAlreadyAnswered",
    "SurveyAnswer",
    "SurveyLinkExpired",
    "SurveyLinkInvalid",
    "appraisal_months_record",
    "case_attachment_add",
    "case_cost_record",
    "complaint_case_open",
    "complaint_case_transition",
    "customer_opinion_acknowledge",
    "customer_opinion_classify",
    "customer_opinion_close",
    "customer_opinion_forward",
    "customer_opinion_record",
    "customer_opinion_resolve",
    "improvement_action_confirm",
    "improvement_action_execute",
    "improvement_action_follow_up",
    "improvement_action_propose",
    "opinion_follow_up_record",
    "reminder_slips_issue",
    "return_allowance_check",
    "return_allowance_post",
    "return_allowance_record",
    "return_allowance_resolve",
    "survey_card_answer_on_paper",
    "survey_card_answer_online",
    "survey_cards_issue",
]
