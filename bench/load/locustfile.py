"""The load scenario of issue 8: dispatchers, technicians and managers at work, over HTTP.

Run by ``bench/load/run.py`` (headless, fixed user count, bounded by ``--run-time``), which
writes the plan this file reads (``LOAD_PLAN``: users, the customers to log calls for, the
technicians' calls and repair cards) and reads back what the load did (``LOAD_OUT``: every
call it logged, with the number the page showed, and every status code).

- Dispatchers (``bench-disp-NN``) look at the board, log calls (a quarter of them received so
  long ago that the deadline is minutes away, so the overdue check has fresh work during the
  run), and dispatch each new call to one of their unit's technicians in the load.
- Technicians (``bench-tech-NN-TT``) open their calls of the day, record arrival at calls
  dispatched to them (the new ones first), resolve calls they are on site for, and move their
  repair cards along (in repair / waiting for parts / repaired).
- Managers browse reports: unit supervisors (board, contracts, complaints and opinions, the
  appraisal, supervision of repair cards), the service department at head office (every unit's
  board, case reports) and the general manager's office (penalty ledger and rulings).

All users live in one locust process, so the hand-over from dispatcher to technician is a
plain in-memory queue.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
import threading
from collections import Counter, deque
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())
OUT = os.environ["LOAD_OUT"]
TZ = ZoneInfo(PLAN["time_zone"])
PASSWORD = PLAN["password"]

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_RE = re.compile(r'name="version" value="(\d+)"')
ERROR_RE = re.compile(r'class="(?:invalid-feedback|alert alert-danger)[^"]*"[^>]*>(?:\s*<strong>)?([^<]{1,200})')
NUMBER_RE = re.compile(r"RC-\d{4}-\d{6}")
CALL_URL_RE = re.compile(r"^/calls/(\d+)/$")

_lock = threading.Lock()
logged_calls: list[dict] = []  # every call the load logged: pk, number, unit, overdue-soon
status_codes: Counter = Counter()
response_times: dict[str, list[float]] = {}  # "GET board" -> milliseconds of every request
server_errors: list[str] = []
# technician id -> calls dispatched to them during the load, waiting for their arrival
dispatched_to: dict[int, deque] = {}


@events.request.add_listener
def _count(request_type, name, response_time, response_length, response, exception, **kwargs):
    code = getattr(response, "status_code", 0) or 0
    with _lock:
        status_codes[str(code)] += 1
        response_times.setdefault(f"{request_type} {name}", []).append(round(response_time, 1))
        if code >= 500 and len(server_errors) < 50:
            server_errors.append(f"{request_type} {name}: {code}")


@events.test_stop.add_listener
def _write_out(environment, **kwargs):
    with _lock:
        data = {
            "logged_calls": logged_calls,
            "status_codes": dict(status_codes),
            "server_errors": server_errors,
            "response_times": response_times,
        }
    tmp = OUT + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, OUT)


def local_minute(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(TZ)).astimezone(TZ).replace(second=0, microsecond=0)


def form_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


class Staff(HttpUser):
    abstract = True
    wait_time = between(2, 5)
    role = ""

    def on_start(self):
        self.identity = self.next_identity()
        self.login(self.identity["username"])

    def next_identity(self) -> dict:
        raise NotImplementedError

    def login(self, username: str) -> None:
        with self.client.get("/accounts/login/", name="login page", catch_response=True) as page:
            token = self.csrf(page)
        with self.client.post(
            "/accounts/login/",
            data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login of {username} answered {response.status_code}")
                raise RuntimeError(f"login of {username} failed")

    def csrf(self, response) -> str:
        match = CSRF_RE.search(response.text or "")
        if not match:
            response.failure("no CSRF token on the page")
            return ""
        return match.group(1)

    def page(self, path: str, name: str) -> None:
        """A GET that must answer 200 (a redirect to the login page is a failure too)."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    def post_form(self, path: str, data: dict, name: str, *, expect_redirect: bool = True):
        with self.client.post(path, data=data, name=name, allow_redirects=False, catch_response=True) as response:
            if expect_redirect and response.status_code != 302:
                found = ERROR_RE.search(response.text or "")
                response.failure(f"{response.status_code} {found.group(1).strip() if found else ''}")
                return None
            return response

    def detail(self, path: str, name: str):
        """GET a page with forms; returns (csrf token, first version field) or None."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
                return None
            version = VERSION_RE.search(response.text)
            return self.csrf(response), (int(version.group(1)) if version else None), response.text


# --- dispatchers ----------------------------------------------------------------------------------

_dispatcher_ids = itertools.count()


class Dispatcher(Staff):
    fixed_count = PLAN["mix"]["dispatchers"]

    def next_identity(self) -> dict:
        unit = PLAN["units"][next(_dispatcher_ids) % len(PLAN["units"])]
        self.unit = unit
        self.targets = list(unit["log_targets"])
        random.shuffle(self.targets)
        self.technicians = itertools.cycle(unit["load_technicians"])
        return {"username": unit["dispatcher"]}

    @task(3)
    def board(self):
        self.page("/calls/", "board")

    @task(1)
    def board_filtered(self):
        self.page("/calls/?status=logged", "board (logged only)")

    @task(1)
    def customer_lookup(self):
        target = random.choice(self.unit["log_targets"])
        self.page(f"/calls/customers/lookup/?q={target['serial']}", "customer lookup")

    @task(4)
    def log_and_dispatch(self):
        with self.client.get("/calls/new/", name="log a call (form)", catch_response=True) as form:
            token = self.csrf(form)
        if not token:
            return
        target = self.targets.pop() if self.targets else random.choice(self.unit["log_targets"])
        now = local_minute()
        overdue_soon = random.random() < 0.25
        if overdue_soon:  # the deadline 2-4 minutes from now: the overdue check gets fresh work
            received = now - dt.timedelta(hours=target["hours"]) + dt.timedelta(minutes=random.randint(2, 4))
        else:
            received = now - dt.timedelta(minutes=random.randint(1, 20))
        response = self.post_form(
            "/calls/new/",
            {
                "csrfmiddlewaretoken": token,
                "customer": target["customer"],
                "site": target["site"],
                "product": target["product"],
                "contact_name": "王先生",
                "contact_phone": "138 0000 1234",
                "channel": "phone",
                "coverage": "unknown",
                "problem": "设备无法启动 The unit does not start (load test)",
                "received_at": form_time(received),
            },
            "log a call (POST)",
        )
        if response is None:
            return
        location = response.headers.get("Location", "")
        match = CALL_URL_RE.match(location)
        if not match:
            response.failure(f"redirected to {location!r}, not to the call")
            return
        pk = int(match.group(1))
        page = self.detail(location, "call detail")
        number = None
        if page:
            found = NUMBER_RE.search(page[2])
            number = found.group(0) if found else None
        with _lock:
            logged_calls.append({"pk": pk, "number": number, "unit": self.unit["id"], "overdue_soon": overdue_soon})
        if overdue_soon and random.random() < 0.5:
            return  # left waiting for a technician: it will be overdue while the load runs
        if not page or page[1] is None:
            return
        token, version, _html = page
        technician = next(self.technicians)
        if self.post_form(
            f"/calls/{pk}/dispatch/",
            {"csrfmiddlewaretoken": token, "version": version, "technician": technician["id"], "reason": ""},
            "dispatch a call (POST)",
        ):
            with _lock:
                dispatched_to.setdefault(technician["id"], deque()).append(pk)


# --- technicians ----------------------------------------------------------------------------------

_technician_ids = itertools.count()


class Technician(Staff):
    fixed_count = PLAN["mix"]["technicians"]

    def next_identity(self) -> dict:
        tech = PLAN["technicians"][next(_technician_ids) % len(PLAN["technicians"])]
        self.tech = tech
        self.seeded_dispatched = deque(tech["dispatched"])
        self.on_site = deque(tech["on_site"])
        self.cards = list(tech["cards"])
        return {"username": tech["username"]}

    def _next_dispatched(self) -> int | None:
        with _lock:
            queue = dispatched_to.get(self.tech["id"])
            if queue:
                return queue.popleft()
        return self.seeded_dispatched.popleft() if self.seeded_dispatched else None

    @task(2)
    def my_calls(self):
        self.page("/calls/mine/", "my calls (technician)")

    @task(3)
    def arrive(self):
        pk = self._next_dispatched()
        if pk is None:
            return
        page = self.detail(f"/calls/{pk}/", "call detail")
        if not page or page[1] is None:
            return
        token, version, _html = page
        arrived = dt.datetime.now(TZ).replace(microsecond=0)
        if self.post_form(
            f"/calls/{pk}/arrive/",
            {"csrfmiddlewaretoken": token, "version": version, "arrived_at": form_time(arrived)},
            "record arrival (POST)",
        ):
            self.on_site.append(pk)

    @task(2)
    def resolve(self):
        if not self.on_site:
            return
        pk = self.on_site.popleft()
        page = self.detail(f"/calls/{pk}/", "call detail")
        if not page or page[1] is None:
            return
        token, version, _html = page
        self.post_form(
            f"/calls/{pk}/resolve/",
            {
                "csrfmiddlewaretoken": token,
                "version": version,
                "outcome": "更换保险丝，试机正常 Fuse replaced (load test)",
            },
            "resolve a call (POST)",
        )

    @task(1)
    def card_list(self):
        self.page("/calls/cards/", "repair cards (list)")

    @task(3)
    def update_card(self):
        if not self.cards:
            return
        pk = random.choice(self.cards)
        page = self.detail(f"/calls/cards/{pk}/", "repair card (detail)")
        if not page:
            return
        token, version, html = page
        actions = sorted(set(re.findall(rf"/calls/cards/{pk}/do/(in_repair|waiting_parts|repaired)/", html)))
        if not actions:
            return
        action = random.choice(actions)
        self.post_form(
            f"/calls/cards/{pk}/do/{action}/",
            {"csrfmiddlewaretoken": token, "version": version or "", "note": f"load test: {action}"},
            "repair card: change status (POST)",
        )


# --- managers -------------------------------------------------------------------------------------

_manager_ids = itertools.count()


class Manager(Staff):
    fixed_count = PLAN["mix"]["managers"]
    wait_time = between(3, 8)

    PAGES = {
        "supervisor": [
            ("/calls/", "board", 3),
            ("/contracts/", "contracts (list)", 2),
            ("/complaints/opinions/", "opinions (list)", 2),
            ("/complaints/cases/", "complaint cases (list)", 2),
            ("/complaints/appraisal/", "technicians' appraisal", 2),
            ("/calls/supervision/", "supervision of repair cards", 1),
            ("/calls/cards/", "repair cards (list)", 1),
        ],
        "service_department": [
            ("/calls/", "board (head office, all units)", 3),
            ("/contracts/", "contracts (list, head office)", 2),
            ("/complaints/opinions/", "opinions (list, head office)", 2),
            ("/complaints/cases/", "complaint cases (list, head office)", 2),
            ("/complaints/appraisal/", "technicians' appraisal (head office)", 2),
            ("/complaints/reports/", "complaint case reports", 1),
        ],
        "gm_office": [
            ("/penalties/ledger/", "penalty ledger", 3),
            ("/penalties/", "penalty rulings (list)", 2),
            ("/complaints/cases/", "complaint cases (list, head office)", 1),
            ("/complaints/appraisal/", "technicians' appraisal (head office)", 1),
            ("/complaints/gm-office/", "GM office desk", 1),
        ],
    }

    def next_identity(self) -> dict:
        who = PLAN["managers"][next(_manager_ids) % len(PLAN["managers"])]
        pages = self.PAGES[who["kind"]]
        self.pages = [(path, name) for path, name, weight in pages for _ in range(weight)]
        return who

    @task
    def browse(self):
        path, name = random.choice(self.pages)
        self.page(path, name)
