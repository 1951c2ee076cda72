"""A complaint case from received to closed in headless Chromium, each stage by its own role (log in, act, log out)."""

import pytest
from django.urls import reverse

from complaints.models import CauseCategory, ComplaintCase, OpinionFollowUp
from tests.browser import launched_chromium
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def browser_page():
    with launched_chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        yield page, problems
        context.close()


def test_a_case_goes_from_received_to_closed_through_every_role(live_server, browser_page, people, factory_unit, unit):
    page, problems = browser_page
    customer = CustomerFactory(unit=unit, name="昆山精密模具")

    def log_in(user):
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", user.username)
        page.fill("#id_password", "pw")
        page.press("#id_password", "Enter")
        page.wait_for_load_state()

    def log_out():
        page.get_by_role("button", name="Log out").click()
        page.wait_for_load_state()

    def open_from_inbox(number):
        page.goto(live_server.url + reverse("complaints:case_inbox"))
        page.locator("#case-inbox a", has_text=number).click()
        page.wait_for_load_state()

    def complete(to_status, **fields):
        card = page.locator(f"#stage-{to_status}")
        for name, value in fields.items():
            field = card.locator(f"[name={name}]")
            if hasattr(value, "pk"):  # a row of reference data: chosen by its key, whatever the page's language
                field.select_option(value=str(value.pk))
            elif field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(label=value)
            else:
                field.fill(value)
        card.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(".alert-success").count() == 1, page.content()[:3000]

    # 1. The service centre's clerk receives the complaint and opens the handling form.
    log_in(people["dispatcher"])
    page.goto(live_server.url + reverse("complaints:case_open"))
    page.select_option("#id_customer", label=customer.name)
    page.select_option("#id_kind", value="product")
    page.fill("#id_description", "设备运行两天后主板烧毁")
    page.fill("#id_claimed_amount", "3000")
    page.locator("#case-open-form button[type=submit]").click()
    page.wait_for_load_state()
    case = ComplaintCase.objects.get()
    assert case.number in page.locator("h1").inner_text()
    complete("investigation", note="请品管调查")
    log_out()

    # 2. Quality management investigates and names the responsible department.
    log_in(people["quality"])
    open_from_inbox(case.number)
    complete(
        "cause_analysis",
        investigation_findings="主板电容批次不良",
        cause_category=CauseCategory.objects.get(code="product_quality"),
        responsible_unit=factory_unit.name,
    )
    log_out()

    # 3. The responsible department analyses the cause.
    log_in(people["factory"])
    open_from_inbox(case.number)
    complete("instructions", cause_analysis="电容耐压不足", countermeasures="更换供应商")
    log_out()

    # 4. The manager's office instructs.
    log_in(people["gm_office"])
    open_from_inbox(case.number)
    complete("opinion", manager_instructions="同意更换")
    log_out()

    # 5. The supervisor writes the comprehensive opinion and visits the customer.
    log_in(people["supervisor"])
    open_from_inbox(case.number)
    complete("approval", comprehensive_opinion="免费更换主板")
    page.goto(live_server.url + reverse("complaints:opinion_detail", args=[case.opinion_id]))
    form = page.locator("#opinion-follow_up")
    form.locator("[name=method]").select_option(value="visit")
    form.locator("[name=summary]").fill("登门致歉，客户接受")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert OpinionFollowUp.objects.count() == 1
    log_out()

    # 6. The approval authority table names the sales manager (or higher) for 3,000 yuan.
    log_in(people["sales_manager"])
    open_from_inbox(case.number)
    complete("explanation", note="同意")
    log_out()

    # 7. The clerk explains the result to the customer and closes the case.
    log_in(people["dispatcher"])
    open_from_inbox(case.number)
    complete("closed", customer_result="客户接受更换方案")
    assert "Closed" in page.locator("#case-stage").inner_text()
    log_out()

    case.refresh_from_db()
    assert case.status == ComplaintCase.Status.CLOSED
    assert case.approved_by == people["sales_manager"] and case.opinion_submitted_by == people["supervisor"]
    assert case.cause_category.code == "product_quality" and case.responsible_unit == factory_unit
    assert problems == []
