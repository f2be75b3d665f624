#!/usr/bin/python3
"""The ward flow figures in the indicator catalogue, through the real
server: a scripted ADT sequence (admit, transfer, discharge, a discharge
cancelled with A13 and sent again, a patient ready for transfer, a transfer
that arrives after the discharge it precedes) sent with python3-hl7's
mllp_send; then, for each ward, the hospital and the county,
GET /api/v1/indicators/{id}?unit=&period=day over the 30 days of
GET /api/v1/flow gives the same midnight census, admissions, discharges,
transfers and transfer-delay days day by day, and bed_occupancy over
rolling 30 days the flow's avg30 percentage. The same after a restart
(both projections rebuilt from the log)."""
import datetime
import json
import os
import subprocess
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = os.path.join(SRC, "tests", "fixtures", "org-board.json")
P1, P2, P3, P4 = "131052-308T", "010594Y203F", "020202A002F", "311299+011K"


def day(offset):
    """YYYYMMDD of today (Helsinki date) + offset days."""
    now = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Helsinki"))
    return (now.date() + datetime.timedelta(days=offset)).strftime("%Y%m%d")


def msg(n, trig, visit, hetu, poc, bed, when, extra=()):
    segs = [
        "MSH|^~\\&|BOARD|TEST|TK|TK|%s||ADT^%s^ADT_A01|W%03d|P|2.5" % (when, trig, n),
        "EVN|%s|%s|||||%s" % (trig, when, when),
        "PID|1||%s^^^1.2.246.21^NNFIN||Testi^Potilas" % hetu,
        "|".join(["PV1", "1", "I", "%s^^%s" % (poc, bed)] + [""] * 15 + [visit]),
    ]
    segs += list(extra)
    return "\r".join(segs) + "\r"


def sequence():
    d5, d4, d3, d2, d1 = day(-5), day(-4), day(-3), day(-2), day(-1)
    return [
        # V1: A day -5, to B day -4, home day -2
        msg(1, "A01", "V1", P1, "WA", "1", d5 + "080000"),
        msg(2, "A02", "V1", P1, "WB", "1", d4 + "100000"),
        msg(3, "A03", "V1", P1, "WB", "1", d2 + "120000"),
        # V2: A day -5; discharged day -3, cancelled, discharged day -1
        msg(4, "A01", "V2", P2, "WA", "2", d5 + "090000"),
        msg(5, "A03", "V2", P2, "WA", "2", d3 + "110000"),
        msg(6, "A13", "V2", P2, "WA", "2", d3 + "120000"),
        msg(7, "A03", "V2", P2, "WA", "2", d1 + "100000"),
        # V3: B day -4, ready for transfer day -3, still there
        msg(8, "A01", "V3", P3, "WB", "2", d4 + "080000"),
        msg(9, "A08", "V3", P3, "WB", "2", d3 + "150000", extra=["ZTK|Y"]),
        # V4: A day -3 evening, discharged day -1; its transfer to B on
        # day -2 arrives last
        msg(10, "A01", "V4", P4, "WA", "3", d3 + "200000"),
        msg(11, "A03", "V4", P4, "WB", "3", d1 + "090000"),
        msg(12, "A02", "V4", P4, "WB", "3", d2 + "120000"),
    ]


SERIES = [
    # (indicator, flow series field)
    ("midnight_census", "census"),
    ("admissions_per_day", "admissions"),
    ("discharges_per_day", "discharges"),
    ("transfers_in_per_day", "transfers_in"),
    ("transfers_out_per_day", "transfers_out"),
    ("transfer_delay_days", "transfer_delay"),
]


def compare(srv, unit):
    flow = srv.get_json("/api/v1/flow?unit=" + unit)
    frm, today = flow["from"], flow["today"]
    census = 0
    for ind, field in SERIES:
        body = srv.get_json("/api/v1/indicators/%s?unit=%s&period=day&from=%s&to=%s" %
                            (ind, unit, frm, today))
        pts = body["points"]
        check(len(pts) == len(flow["series"]) == 30,
              "%s %s: %d points, %d flow days" % (unit, ind, len(pts), len(flow["series"])))
        for p, s in zip(pts, flow["series"]):
            check(p["from"] == s["date"] and p["to"] == s["date"], "dates %r %r" % (p, s))
            check(not p["suppressed"], "%s %s suppressed" % (unit, ind))
            v = p["value"] if p["value"] is not None else 0
            check(abs(v - s[field]) < 1e-9,
                  "%s %s %s: indicator %r, flow %r" % (unit, ind, s["date"], p["value"], s[field]))
            if field == "census":
                census += s[field]
    occ = srv.get_json("/api/v1/indicators/bed_occupancy?unit=%s&period=rolling30&from=%s&to=%s" %
                       (unit, today, today))["points"]
    want = flow["occupancy"]["avg30"]["pct"]
    check(len(occ) == 1 and occ[0]["value"] is not None and
          abs(occ[0]["value"] - want) <= 0.05 + 1e-9,
          "%s occupancy: indicator %r, flow %r" % (unit, occ, want))
    return census, flow


def check_all(srv):
    totals = {}
    for unit in ("bt-a", "bt-b", "bt-h", "bt"):
        totals[unit], flow = compare(srv, unit)
        if unit == "bt":
            check(flow["admissions"] == 4 and flow["discharges"] == 3 and
                  flow["transfers_in"] == 2, "county flow %r" % flow)
            # V3 ready on day -3: the midnights of days -2, -1 and today
            check(flow["transfer_delay_days"] == 3, "delay days %r" % flow)
    # Care days by hand: A: V1 1 + V2 4 + V4 1; B: V1 2 + V3 4 (open, up to
    # today) + V4 1; the wards add up to the hospital and the county.
    check(totals == {"bt-a": 6, "bt-b": 7, "bt-h": 13, "bt": 13}, "care days %r" % totals)
    return totals


def main():
    tmpdir, data = init_data(org=ORG)
    srv = Server(data).start()
    srv.token = coordinator_token(data)
    srv.reason = "care_coordination"
    try:
        for i, m in enumerate(sequence()):
            path = os.path.join(tmpdir, "w%02d.mllp" % i)
            with open(path, "wb") as f:
                f.write(frame(m.encode()))
            p = subprocess.run(["mllp_send", "-f", path, "-p", str(srv.mllp_port), "127.0.0.1"],
                               capture_output=True, timeout=30)
            check(p.returncode == 0, "mllp_send failed: %r" % p.stderr)
            ack = parse_ack(p.stdout.strip(b"\n").strip(SB).split(EB)[0])
            check(ack["code"] == "AA", "message %d: %s: %r" % (i, ack["code"], ack["segments"]))
        before = check_all(srv)
        # Rebuilt from the log at restart: the same figures.
        srv.kill()
        srv.start()
        after = check_all(srv)
        check(before == after, "care days after restart %r, before %r" % (after, before))
        print(json.dumps(after))
    finally:
        srv.stop()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
