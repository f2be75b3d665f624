#!/usr/bin/python3
"""The authorisation matrix (issue 4, "must show"), against the real server:
every API endpoint x every role x in scope and out of scope, and without
sign-in, gives the status the table below says (200/400/401/403); no
person-level field appears in any response to a role without person-level
rights (nor to a person-level role that gave no reason); every person-level
view has one audit record per row shown, written with the user, role,
reason, unit, address and the request id the response echoes
(`audit user-activity --csv`), and `audit verify` passes afterwards.

Along the way: small cells are suppressed for roles without person-level
rights (a ward of 2 patients reads null and is listed in "suppressed"; the
totals that would reveal it are "withheld"), while person-level roles see
the exact counts; and a patient with a non-disclosure marking (turvakielto,
PD1-12 = Y) is shown with "non_disclosure": true and neither the
municipality nor the address of the message appears in any response.

The organisation (tests/fixtures/org-board.json): county bt > hospital bt-h
> wards bt-a (4 beds), bt-b (3 beds) and the ED bt-ed. Every role has two
accounts: one over the county (scope bt) and one over bt-a only. "in" means
a unit within the account's scope, "out" one outside it."""
import json
import os
import re
import socket
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = os.path.join(SRC, "tests", "fixtures", "org-board.json")
ROLES = ["leader", "analyst", "unit_manager", "coordinator", "integration_admin",
         "registrar", "admin"]
PERSON_ROLES = {"unit_manager", "coordinator"}
FEEDS_ROLES = {"integration_admin", "admin"}
# Keys that only person-level rows carry (bedboard patients and waiting
# entries), anywhere in a response.
PERSON_KEYS = {"patients", "waiting", "subject", "episode", "bed", "bed_conflict",
               "admitted_at", "ward_since", "expected_discharge", "ready_since",
               "pending_transfer_to", "unit_now", "since", "age_band", "sex",
               "non_disclosure", "ready_for_transfer"}
# Never shown to anyone: where a person lives.
ADDRESS_KEYS = {"municipality", "address", "home_municipality", "residence",
                "street", "postal_code", "city"}
SECRET_STREET = "Piilokatu 7"
SECRET_CITY = "Salaperala"
SECRET_ZIP = "13999"
SECRET_MUNI = "165"  # Janakkala's code, only in PID-11.9 of one message

CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def hetu(day, month, year, n):
    """A valid personal identity code (checksum) for a 1900s birth."""
    base = "%02d%02d%02d" % (day, month, year % 100)
    num = int(base + "%03d" % n)
    return "%s-%03d%s" % (base, n, CHECK[num % 31])


def adt_board(control, trigger, visit, pid, poc, bed, when, pd1=None, addr=""):
    segs = [
        "MSH|^~\\&|BOARD|TEST|TK|TK|%s||ADT^%s^ADT_A01|%s|P|2.5" % (when, trigger, control),
        "EVN|%s|%s|||||%s" % (trigger, when, when),
        "PID|1||%s^^^1.2.246.21^NNFIN||Testi^Potilas||19500101|F|||%s" % (pid, addr),
    ]
    if pd1:
        segs.append(pd1)
    segs.append("|".join(["PV1", "1", "I", "%s^^%s" % (poc, bed)] + [""] * 15 + [visit]))
    return ("\r".join(segs) + "\r").encode()


def send_all(port, msgs):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        for m in msgs:
            s.sendall(frame(m))
            ack = parse_ack(read_frame(s))
            check(ack["code"] == "AA", "ADT refused: %r" % ack["segments"])
    finally:
        s.close()


def walk_keys(o, out):
    if isinstance(o, dict):
        for k, v in o.items():
            out.add(k)
            walk_keys(v, out)
    elif isinstance(o, list):
        for v in o:
            walk_keys(v, out)
    return out


# ---- the table -----------------------------------------------------------
#
# Each row: label, method, {"in": (account, path), "out": (account, path)},
# reason header, expected status for "anon" (no sign-in), "in", "out". An
# expected value may be a function of the role. Accounts: "all" = scope bt,
# "a" = scope bt-a.

def feeds(ok):
    return lambda role: ok if role in FEEDS_ROLES else 403


TABLE = [
    ("units", "GET", {"in": ("all", "/api/v1/units"), "out": ("a", "/api/v1/units")},
     None, 401, 200, 200),
    ("bedboard", "GET", {"in": ("all", "/api/v1/bedboard"), "out": ("a", "/api/v1/bedboard")},
     None, 401, 200, 403),
    ("bedboard+reason", "GET",
     {"in": ("all", "/api/v1/bedboard"), "out": ("a", "/api/v1/bedboard")},
     "care", 401, 200, 403),
    ("bedboard?unit", "GET",
     {"in": ("a", "/api/v1/bedboard?unit=bt-a"), "out": ("a", "/api/v1/bedboard?unit=bt-b")},
     None, 401, 200, 403),
    ("bedboard?unit+reason", "GET",
     {"in": ("a", "/api/v1/bedboard?unit=bt-a"), "out": ("a", "/api/v1/bedboard?unit=bt-b")},
     "care", 401, 200, 403),
    ("bedboard?unit(hospital)+reason", "GET",
     {"in": ("all", "/api/v1/bedboard?unit=bt-h"), "out": ("a", "/api/v1/bedboard?unit=bt-h")},
     "patient_safety", 401, 200, 403),
    ("bedboard?unit+bad reason", "GET",
     {"in": ("a", "/api/v1/bedboard?unit=bt-a"), "out": ("a", "/api/v1/bedboard?unit=bt-b")},
     "curiosity", 401, 400, 403),
    ("bedboard?unit=unknown", "GET",
     {"in": ("a", "/api/v1/bedboard?unit=nowhere"), "out": ("a", "/api/v1/bedboard?unit=nowhere")},
     None, 401, 400, 400),
    ("flow?unit", "GET",
     {"in": ("a", "/api/v1/flow?unit=bt-a"), "out": ("a", "/api/v1/flow?unit=bt-b")},
     None, 401, 200, 403),
    ("flow (no unit)", "GET", {"in": ("all", "/api/v1/flow"), "out": ("a", "/api/v1/flow")},
     None, 401, 400, 403),
    ("t3?unit", "GET",
     {"in": ("a", "/api/v1/t3?unit=bt-a"), "out": ("a", "/api/v1/t3?unit=bt-b")},
     None, 401, 200, 403),
    ("indicators", "GET",
     {"in": ("all", "/api/v1/indicators"), "out": ("a", "/api/v1/indicators")},
     None, 401, 200, 200),
    ("indicators/{id}?unit", "GET",
     {"in": ("a", "/api/v1/indicators/midnight_census?unit=bt-a&period=day"),
      "out": ("a", "/api/v1/indicators/midnight_census?unit=bt-b&period=day")},
     None, 401, 200, 403),
    ("dashboards/health-stations?unit", "GET",
     {"in": ("a", "/api/v1/dashboards/health-stations?unit=bt-a"),
      "out": ("a", "/api/v1/dashboards/health-stations?unit=bt-b")},
     None, 401, 200, 403),
    ("dashboards/health-stations (no unit)", "GET",
     {"in": ("all", "/api/v1/dashboards/health-stations"),
      "out": ("a", "/api/v1/dashboards/health-stations")},
     None, 401, 200, 403),
    ("dashboards/health-stations/export", "GET",
     {"in": ("a", "/api/v1/dashboards/health-stations/export?unit=bt-a&format=csv&panel=t3_physician"),
      "out": ("a", "/api/v1/dashboards/health-stations/export?unit=bt-b&format=csv&panel=t3_physician")},
     None, 401, 200, 403),
    ("status", "GET", {"in": ("all", "/api/v1/status"), "out": ("a", "/api/v1/status")},
     None, 401, 200, 200),
    ("stream", "GET", {"in": ("all", "/api/v1/stream"), "out": ("a", "/api/v1/stream")},
     None, 401, 200, 200),
    ("metrics", "GET", {"in": ("all", "/metrics"), "out": ("a", "/metrics")},
     None, 401, feeds(200), feeds(200)),
    ("me", "GET", {"in": ("all", "/api/v1/me"), "out": ("a", "/api/v1/me")},
     None, 401, 200, 200),
    # A token holds no session to end: admitted (no CSRF for tokens), 400.
    ("DELETE session (token)", "DELETE",
     {"in": ("all", "/api/v1/session"), "out": ("a", "/api/v1/session")},
     None, 401, 400, 400),
]


class Matrix:
    def __init__(self, srv, data):
        self.srv, self.data = srv, data
        self.tokens = {}     # (role, "all"|"a") -> token
        self.checks = 0
        self.failures = []
        self.person_views = []  # (user, request id, [(subject, ward)], reason)
        self.subjects = set()   # every subject pseudonym seen in rows

    def expect(self, label, got, want):
        self.checks += 1
        if got != want:
            self.failures.append("%s: got %d, expected %d" % (label, got, want))

    def no_person_fields(self, label, body):
        """No person-level key, and no subject pseudonym seen elsewhere."""
        self.checks += 1
        try:
            keys = walk_keys(json.loads(body), set())
        except ValueError:
            keys = set()
        bad = keys & PERSON_KEYS
        if bad:
            self.failures.append("%s: person-level fields %s" % (label, sorted(bad)))
        for s in self.subjects:
            if s in body:
                self.failures.append("%s: a subject pseudonym in the body" % label)
                break

    def no_address(self, label, body):
        self.checks += 1
        try:
            keys = walk_keys(json.loads(body), set())
        except ValueError:
            keys = set()
        if keys & ADDRESS_KEYS:
            self.failures.append("%s: address fields %s" % (label, sorted(keys & ADDRESS_KEYS)))
        for secret in (SECRET_STREET, SECRET_CITY, SECRET_ZIP, "\"%s\"" % SECRET_MUNI):
            if secret in body:
                self.failures.append("%s: '%s' from PID-11 in the body" % (label, secret))

    def request(self, method, path, token, reason):
        if path == "/api/v1/stream":
            # Only the status: headers arrive at once, the body never ends.
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", self.srv.http_port, timeout=10)
            h = {}
            if token:
                h["Authorization"] = "Bearer " + token
            c.request("GET", path, headers=h)
            r = c.getresponse()
            status = r.status
            body = r.read().decode() if status != 200 else ""
            c.close()
            return status, body, {}
        return self.srv.request(method, path, token=token or "", reason=reason or "")

    def run_table(self):
        for label, method, paths, reason, anon, want_in, want_out in TABLE:
            # No sign-in.
            st, body, _ = self.request(method, paths["in"][1], None, reason)
            self.expect("%s, no sign-in" % label, st, anon)
            self.no_person_fields("%s, no sign-in" % label, body)
            for role in ROLES:
                for ctx, want in (("in", want_in), ("out", want_out)):
                    acct, path = paths[ctx]
                    want = want(role) if callable(want) else want
                    tok = self.tokens[(role, acct)]
                    st, body, hdr = self.request(method, path, tok, reason)
                    name = "%s, %s (%s), %s scope" % (label, role, acct, ctx)
                    self.expect(name, st, want)
                    self.no_address(name, body)
                    shows_rows = (role in PERSON_ROLES and reason in ("care", "patient_safety")
                                  and st == 200 and path.startswith("/api/v1/bedboard"))
                    if shows_rows:
                        self.person_view(name, role, acct, body, hdr, reason)
                    else:
                        self.no_person_fields(name, body)

    def person_view(self, name, role, acct, body, hdr, reason):
        board = json.loads(body)
        rows = []
        for w in board["wards"]:
            self.checks += 1
            if "patients" not in w:
                self.failures.append("%s: no patients for a person-level view" % name)
                continue
            for p in w["patients"] + w.get("waiting", []):
                rows.append((p["subject"], w["id"]))
                self.subjects.add(p["subject"])
        rid = hdr.get("x-request-id", "")
        self.checks += 1
        if not re.fullmatch(r"[0-9a-f]{32}", rid):
            self.failures.append("%s: X-Request-Id %r" % (name, rid))
        self.person_views.append(("%s_%s" % (role, acct), role, rid, rows, reason,
                                  board["unit"]))

    def sessions(self):
        """POST/DELETE /api/v1/session with a cookie, for every account."""
        st, body, _ = self.srv.request(
            "POST", "/api/v1/session", token="", reason="",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"user": "leader_all", "password": "wrong password here"}))
        self.expect("POST session, wrong password", st, 401)
        st, _, _ = self.srv.request("DELETE", "/api/v1/session", token="", reason="")
        self.expect("DELETE session, no sign-in", st, 401)
        for role in ROLES:
            for acct in ("all", "a"):
                user = "%s_%s" % (role, acct)
                st, body, hdr = self.srv.request(
                    "POST", "/api/v1/session", token="", reason="",
                    headers={"Content-Type": "application/json"},
                    body=json.dumps({"user": user, "password": PASSWORD}))
                self.expect("POST session, %s" % user, st, 200)
                if st != 200:
                    continue
                me = json.loads(body)
                self.checks += 1
                if me["role"] != role or me["person_level"] != (role in PERSON_ROLES):
                    self.failures.append("POST session, %s: %r" % (user, me))
                cookie = hdr["set-cookie"].split(";")[0]
                self.checks += 1
                if "HttpOnly" not in hdr["set-cookie"] or "SameSite=Strict" not in hdr["set-cookie"]:
                    self.failures.append("cookie flags: %s" % hdr["set-cookie"])
                st, _, _ = self.srv.request("GET", "/api/v1/me", token="", reason="",
                                            headers={"Cookie": cookie})
                self.expect("GET me with the cookie, %s" % user, st, 200)
                st, _, _ = self.srv.request("DELETE", "/api/v1/session", token="", reason="",
                                            headers={"Cookie": cookie})
                self.expect("DELETE session without CSRF, %s" % user, st, 403)
                st, _, _ = self.srv.request("DELETE", "/api/v1/session", token="", reason="",
                                            headers={"Cookie": cookie,
                                                     "X-CSRF-Token": me["csrf"]})
                self.expect("DELETE session, %s" % user, st, 200)
                st, _, _ = self.srv.request("GET", "/api/v1/me", token="", reason="",
                                            headers={"Cookie": cookie})
                self.expect("GET me after sign-out, %s" % user, st, 401)

    def audit(self):
        """One record per row of every person-level view, and none of a
        role without person-level rights."""
        by_user = {}
        for user, role, rid, rows, reason, unit in self.person_views:
            by_user.setdefault(user, []).append((role, rid, rows, reason, unit))
        for role in ROLES:
            for acct in ("all", "a"):
                user = "%s_%s" % (role, acct)
                recs = [r for r in audit_rows(self.data, user)
                        if r["action"].startswith("view ")]
                views = by_user.get(user, [])
                self.checks += 1
                if role not in PERSON_ROLES:
                    if recs:
                        self.failures.append("audit: %s has view records" % user)
                    continue
                want_total = sum(max(1, len(rows)) for _, _, rows, _, _ in views)
                if len(recs) != want_total:
                    self.failures.append("audit: %s has %d view records, expected %d"
                                         % (user, len(recs), want_total))
                for vrole, rid, rows, reason, unit in views:
                    mine = [r for r in recs if r["request_id"] == rid]
                    got = sorted((r["subject"], r["unit"]) for r in mine)
                    want = sorted(rows) if rows else [("", unit)]
                    self.checks += 1
                    if got != want:
                        self.failures.append("audit: %s view %s records %r, shown %r"
                                             % (user, rid, got, want))
                    for r in mine:
                        self.checks += 1
                        if (r["role"] != vrole or r["reason"] != reason or
                                r["address"] != "127.0.0.1" or
                                r["action"] != "view /api/v1/bedboard"):
                            self.failures.append("audit: record %r" % r)


def suppression(m, srv):
    """bt-a holds 2 patients, bt-b 6: a leader sees bt-a's counts as
    suppressed and the totals that would reveal them as withheld; a
    coordinator (no reason) sees exact counts and no rows."""
    lead = srv.get_json("/api/v1/bedboard", token=m.tokens[("leader", "all")], reason="")
    wards = {w["id"]: w for w in lead["wards"]}
    a, b, t = wards["bt-a"], wards["bt-b"], lead["totals"]
    ok = (a["patient_count"] is None and "patient_count" in a["suppressed"] and
          a["occupied"] is None and a["free"] is None and "free" in a["withheld"] and
          a["occupancy_pct"] is None and
          b["patient_count"] == 6 and b["occupied"] == 3 and b["overflow"] == 3 and
          b["suppressed"] == [] and
          t["patient_count"] is None and "patient_count" in t["withheld"] and
          t["beds"] == 7)
    m.checks += 1
    if not ok:
        m.failures.append("suppression for a leader: %s" % json.dumps(lead)[:1500])
    coord = srv.get_json("/api/v1/bedboard", token=m.tokens[("coordinator", "all")],
                         reason="")
    wards = {w["id"]: w for w in coord["wards"]}
    m.checks += 1
    if not (wards["bt-a"]["patient_count"] == 2 and coord["totals"]["patient_count"] == 8
            and "suppressed" not in wards["bt-a"] and "patients" not in wards["bt-a"]):
        m.failures.append("exact aggregates for a coordinator: %s" % json.dumps(coord)[:800])
    flow = srv.get_json("/api/v1/flow?unit=bt-a", token=m.tokens[("analyst", "a")], reason="")
    m.checks += 1
    if not (flow["admissions"] is None and "admissions" in flow["suppressed"]):
        m.failures.append("flow suppression: %s" % json.dumps(flow)[:800])
    flow = srv.get_json("/api/v1/flow?unit=bt-a", token=m.tokens[("unit_manager", "a")],
                        reason="")
    m.checks += 1
    if flow["admissions"] != 2:
        m.failures.append("flow for a unit manager: admissions %r" % flow["admissions"])


def turvakielto(m, srv):
    """The marked patient: flagged, and no municipality or address."""
    st, body, hdr = srv.request("GET", "/api/v1/bedboard?unit=bt-a",
                                token=m.tokens[("coordinator", "a")], reason="care")
    m.expect("bedboard bt-a for the coordinator", st, 200)
    pats = json.loads(body)["wards"][0]["patients"]
    marked = [p for p in pats if p.get("non_disclosure")]
    m.checks += 1
    if len(pats) != 2 or len(marked) != 1:
        m.failures.append("turvakielto: patients %r" % pats)
    m.no_address("turvakielto board", body)
    m.person_view("turvakielto board", "coordinator", "a", body, hdr, "care")


def main():
    tmpdir, data = init_data(org=ORG)
    m = Matrix(None, data)
    for role in ROLES:
        for acct, scope in (("all", "bt"), ("a", "bt-a")):
            user = "%s_%s" % (role, acct)
            add_user(data, user, role, scope, PASSWORD)
            m.tokens[(role, acct)] = token_create(data, user)
    srv = Server(data).start()
    m.srv = srv
    try:
        now = datetime.now(ZoneInfo("Europe/Helsinki")) - timedelta(hours=2)
        when = now.strftime("%Y%m%d%H%M%S")
        msgs = [
            adt_board("M1", "A01", "V1", hetu(1, 2, 1950, 11), "WA", "1", when),
            adt_board("M2", "A01", "V2", hetu(2, 3, 1960, 12), "WA", "2", when,
                      pd1="PD1" + "|" * 12 + "Y",
                      addr="%s^^%s^^%s^FI^H^^%s" % (SECRET_STREET, SECRET_CITY,
                                                   SECRET_ZIP, SECRET_MUNI)),
        ]
        for i in range(6):
            msgs.append(adt_board("M%d" % (10 + i), "A01", "V%d" % (10 + i),
                                  hetu(3 + i, 4, 1970, 20 + i), "WB",
                                  str(i + 1) if i < 3 else "", when))
        send_all(srv.mllp_port, msgs)
        turvakielto(m, srv)
        m.run_table()
        m.sessions()
        suppression(m, srv)
    finally:
        srv.stop()
    m.audit()
    ok, out = audit_verify(data)
    m.checks += 1
    if not ok:
        m.failures.append("audit verify: %s" % out)
    for f in m.failures:
        print("FAIL: " + f)
    print("authz matrix: %d checks, %d roles x %d endpoints x {no sign-in, in scope, "
          "out of scope}; %d person-level views audited; %d failures"
          % (m.checks, len(ROLES), len(TABLE), len(m.person_views), len(m.failures)))
    if m.failures:
        sys.exit(1)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
