#!/usr/bin/python3
"""A scripted ADT sequence (admit, transfer, discharge, leave, each cancel,
a pending admission, ED boarding, ready for transfer, a duplicate and an
out-of-order arrival) sent with python3-hl7's mllp_send gives exactly the
expected /api/v1/bedboard JSON (read by a coordinator with an access
reason); a discharge of an unknown episode is refused into the dead letters
without touching the board; a restart (projection rebuilt from the log)
gives the same board."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = os.path.join(SRC, "tests", "fixtures", "org-board.json")
DAY = "20261120"
P1, P2, P3, P4, P5 = "131052-308T", "010594Y203F", "020202A002F", "311299+011K", "290200A1239"


def msg(n, trig, visit, hetu, poc, bed, hhmm, cls="I", extra=()):
    when = DAY + hhmm + "00"
    segs = [
        "MSH|^~\\&|BOARD|TEST|TK|TK|%s||ADT^%s^ADT_A01|M%03d|P|2.5" % (when, trig, n),
        "EVN|%s|%s|||||%s" % (trig, when, when),
        "PID|1||%s^^^1.2.246.21^NNFIN||Testi^Potilas" % hetu,
        "|".join(["PV1", "1", cls, "%s^^%s" % (poc, bed)] + [""] * 15 + [visit]),
    ]
    segs += list(extra)
    return "\r".join(segs) + "\r"


SEQUENCE = [
    # (message, expected MSA-1)
    (msg(1, "A01", "V1", P1, "WA", "1", "0800"), "AA"),
    (msg(2, "A01", "V2", P2, "WA", "2", "0810"), "AA"),
    (msg(3, "A02", "V1", P1, "WB", "1", "0900"), "AA"),            # transfer
    (msg(4, "A03", "V2", P2, "WA", "2", "1000"), "AA"),            # discharge
    (msg(5, "A01", "V3", P3, "WA", "3", "1030"), "AA"),
    (msg(6, "A11", "V3", P3, "WA", "3", "1030"), "AA"),            # cancel admit
    (msg(7, "A21", "V1", P1, "WB", "1", "1100"), "AA"),            # leave starts
    (msg(8, "A22", "V1", P1, "WB", "1", "1200"), "AA"),            # leave ends
    (msg(9, "A02", "V1", P1, "WA", "4", "1300"), "AA"),            # wrong transfer
    (msg(10, "A12", "V1", P1, "WB", "1", "1300"), "AA"),           # ...cancelled
    (msg(11, "A03", "V1", P1, "WB", "1", "1400"), "AA"),           # wrong discharge
    (msg(12, "A13", "V1", P1, "WB", "1", "1400"), "AA"),           # ...cancelled
    (msg(2, "A01", "V2", P2, "WA", "2", "0810"), "AA"),            # duplicate of 2
    (msg(13, "A01", "V5", P5, "WA", "3", "1500"), "AA"),
    (msg(14, "A03", "V5", P5, "WB", "3", "1800"), "AA"),           # discharge...
    (msg(15, "A02", "V5", P5, "WB", "3", "1600"), "AA"),           # ...before its transfer arrives
    (msg(16, "A08", "V1", P1, "WB", "1", "1630", extra=["ZTK|Y"]), "AA"),  # ready for transfer
    (msg(17, "A14", "V6", P4, "WA", "", "1700"), "AA"),            # pending admission to A
    (msg(18, "A04", "V7", P3, "ED", "P1", "1710", cls="E"), "AA"),  # ED visit
    (msg(19, "A06", "V7", P3, "ED", "P1", "1730"), "AA"),          # admitted, still in the ED
    (msg(20, "A01", "V8", P2, "WA", "2", "1745"), "AA"),
    (msg(21, "A21", "V8", P2, "WA", "2", "1800"), "AA"),           # on leave
    (msg(22, "A03", "V99", P4, "WB", "2", "1900"), "AE"),          # unknown episode
]


def board_view(board):
    """The board without what depends on the key, the clock or the run."""
    out = []
    for w in board["wards"]:
        v = {k: w[k] for k in ("id", "beds", "occupied", "free", "awaiting_transfer", "on_leave")}
        v["patients"] = sorted(
            ({"bed": p["bed"], "age_band": p["age_band"], "sex": p["sex"],
              "admitted_at": p["admitted_at"], "on_leave": p["on_leave"],
              "ready_for_transfer": p["ready_for_transfer"],
              "ready_since": p.get("ready_since")} for p in w["patients"]),
            key=lambda p: p["bed"])
        v["waiting"] = sorted((x["kind"] for x in w.get("waiting", [])))
        out.append(v)
    return sorted(out, key=lambda w: w["id"])


def iso(hhmm):
    """Helsinki local time on DAY (EET, +02:00 in November) as UTC ISO."""
    h, m = int(hhmm[:2]), int(hhmm[2:])
    return "2026-11-20T%02d:%02d:00.000Z" % (h - 2, m)


EXPECTED = [
    {"id": "bt-a", "beds": 4, "occupied": 1, "free": 3, "awaiting_transfer": 0, "on_leave": 1,
     "patients": [{"bed": "2", "age_band": 30, "sex": "M", "admitted_at": iso("1745"),
                   "on_leave": True, "ready_for_transfer": False, "ready_since": None}],
     "waiting": ["pending_admit"]},
    {"id": "bt-b", "beds": 3, "occupied": 1, "free": 2, "awaiting_transfer": 1, "on_leave": 0,
     "patients": [{"bed": "1", "age_band": 70, "sex": "F", "admitted_at": iso("0800"),
                   "on_leave": False, "ready_for_transfer": True, "ready_since": iso("1630")}],
     "waiting": []},
    # the boarding patient occupies ED bay P1 and is listed as waiting for a
    # ward bed (in_ed), not among the ED's own patients
    {"id": "bt-ed", "beds": 2, "occupied": 1, "free": 1, "awaiting_transfer": 0, "on_leave": 0,
     "patients": [], "waiting": ["in_ed"]},
]


def main():
    tmpdir, data = init_data(org=ORG)
    srv = Server(data).start()
    # A coordinator over the county reads the board with its patients.
    srv.token = coordinator_token(data)
    srv.reason = "care_coordination"
    try:
        codes = []
        for i, (m, want) in enumerate(SEQUENCE):
            path = os.path.join(tmpdir, "m%02d.mllp" % i)
            with open(path, "wb") as f:
                f.write(frame(m.encode()))
            p = subprocess.run(["mllp_send", "-f", path, "-p", str(srv.mllp_port), "127.0.0.1"],
                               capture_output=True, timeout=30)
            check(p.returncode == 0, "mllp_send failed: %r" % p.stderr)
            ack = parse_ack(p.stdout.strip(b"\n").strip(SB).split(EB)[0])
            codes.append(ack["code"])
            check(ack["code"] == want, "message %d: %s, expected %s: %r" %
                  (i, ack["code"], want, ack["segments"]))
        board = srv.get_json("/api/v1/bedboard")
        got = board_view(board)
        check(got == [w for w in EXPECTED if any(g["id"] == w["id"] for g in got)] and
              len(got) == len(EXPECTED),
              "board differs:\n%s\nexpected:\n%s" % (json.dumps(got, indent=1),
                                                    json.dumps(EXPECTED, indent=1)))
        # The same subject pseudonym follows V1 through every move.
        wb = [w for w in board["wards"] if w["id"] == "bt-b"][0]
        check(len(wb["patients"][0]["subject"]) == 32, "subject is not a pseudonym")
        check(P1 not in json.dumps(board), "identity code in the board")
        st = status(data)
        check(st["messages"]["duplicates"] == 1, "duplicates %r" % st["messages"])
        check(st["messages"]["dead_letters"] == 1, "dead letters %r" % st["messages"])
        # Rebuilt from the log at restart: the same board.
        srv.kill()
        srv.start()
        again = board_view(srv.get_json("/api/v1/bedboard"))
        check(again == got, "board after restart differs")
        r = run(["rebuild", "--data", data], check_rc=False)
        check(r.returncode == 1 or "invariants hold" in r.stdout, "rebuild: %s" % r.stdout)
    finally:
        srv.stop()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
