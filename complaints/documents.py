"""Printable survey cards: one A4 page per card, with the private link and its QR code."""

from django.conf import settings
from django.urls import reverse

from servicedesk.documents import render_pdf

from .appraisal import CRITERIA, export_columns
from .charts import appraisal_charts


def survey_card_link(card) -> str:
    """The card's short private link, as printed (absolute, on the configured site address)."""
    return settings.SERVICEDESK_BASE_URL.rstrip("/") + reverse(
        "survey_public:answer", kwargs={"card_id": card.pk, "token": card.token}
    )


def qr_data_uri(text: str) -> str:
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=4, border=2)


SURVEY_BATCH_TEMPLATE = "complaints/pdf/survey_batch.html"


def survey_batch_context(*, batch, cards) -> dict:
    pages = []
    for card in cards:
        link = survey_card_link(card)
        pages.append({"card": card, "call": card.call, "link": link, "qr": qr_data_uri(link)})
    return {"batch": batch, "pages": pages}


def survey_batch_pdf(*, batch, cards) -> bytes:
    return render_pdf(template=SURVEY_BATCH_TEMPLATE, context=survey_batch_context(batch=batch, cards=cards))


def appraisal_pdf(*, unit, month, rows, totals) -> bytes:
    return render_pdf(
        template="complaints/pdf/appraisal.html",
        context={
            "unit": unit,
            "month": month,
            "rows": rows,
            "totals": totals,
            "criteria": CRITERIA,
            "columns": export_columns(),
            "charts": appraisal_charts(rows) if rows else None,
        },
    )


def complaint_case_pdf(*, case, history, returns, actions, attachments) -> bytes:
    """客户抱怨处理表: the customer complaint handling form, every stage's part as filled in so far."""
    return render_pdf(
        template="complaints/pdf/case_form.html",
        context={"case": case, "history": history, "returns": returns, "actions": actions, "attachments": attachments},
    )


def opinion_letter_pdf(*, opinion) -> bytes:
    """函告 (clause 二十六): the letter telling the customer how a serious complaint was handled."""
    return render_pdf(template="complaints/pdf/opinion_letter.html", context={"opinion": opinion})


def reminder_slip_pdf(*, slip) -> bytes:
    """催办单: the GM office's reminder to the owner of an overdue stage."""
    return render_pdf(template="complaints/pdf/reminder_slip.html", context={"slip": slip, "case": slip.case})
