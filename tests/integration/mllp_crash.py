#!/usr/bin/python3
"""Crash test: 20,000 ADT messages streamed over 8 MLLP connections, each
sender waiting for its ACK and resending any message not yet acknowledged;
the server is killed with SIGKILL at three random moments and restarted. At
the end every message is applied exactly once: status and event counts equal
what was sent, and the bed board rebuilt at restart holds exactly the
episodes left open."""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = os.path.join(SRC, "tests", "fixtures", "org-testdata.json")
TOTAL = int(os.environ.get("TK_CRASH_MESSAGES", "20000"))
CONNS = 8
CYCLE = [("A01", "W1"), ("A02", "W2"), ("A03", "W2")]


def build(conn, n):
    """Messages for one connection: episodes admitted, transferred and
    discharged in order."""
    msgs, kinds = [], []
    i = 0
    while len(msgs) < n:
        ep = i // 3
        trig, poc = CYCLE[i % 3]
        # one message a minute per connection, in order, from 2025-11-01
        when = time.strftime("%Y%m%d%H%M%S", time.gmtime(1761955200 + i * 60 + conn))
        msgs.append(adt("C%d-%d" % (conn, i), trig, "V%d-%d" % (conn, ep), poc=poc, when=when))
        kinds.append(trig)
        i += 1
    return msgs, kinds


class Sender(threading.Thread):
    def __init__(self, port, msgs):
        super().__init__(daemon=True)
        self.port, self.msgs = port, msgs
        self.acked = 0
        self.resends = 0
        self.error = None

    def connect(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                return s
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("cannot reconnect")

    def run(self):
        try:
            s = self.connect()
            i = 0
            while i < len(self.msgs):
                try:
                    s.sendall(frame(self.msgs[i]))
                    ack = read_frame(s, timeout=15)
                    if ack is None:
                        raise OSError("closed")
                except OSError:
                    s.close()
                    s = self.connect()
                    self.resends += 1
                    continue
                a = parse_ack(ack)
                if a["code"] != "AA":
                    self.error = "message %d got %s: %r" % (i, a["code"], a["segments"])
                    return
                i += 1
                self.acked = i
            s.close()
        except Exception as e:  # noqa: BLE001
            self.error = repr(e)


def main():
    tmpdir, data = init_data(org=ORG)
    srv = Server(data).start()
    # The board is read with its patients: a coordinator with a reason.
    srv.token = coordinator_token(data)
    srv.reason = "care_coordination"
    per = TOTAL // CONNS
    all_kinds = []
    senders = []
    for c in range(CONNS):
        msgs, kinds = build(c, per + (1 if c < TOTAL % CONNS else 0))
        all_kinds += kinds
        senders.append(Sender(srv.mllp_port, msgs))
    rnd = random.Random(int(os.environ.get("TK_CRASH_SEED", str(int(time.time())))))
    kills = sorted(rnd.uniform(0.1, 0.9) for _ in range(3))
    print("kill points (fraction acknowledged): %s" % ["%.2f" % k for k in kills], flush=True)
    for s in senders:
        s.start()
    killed = 0
    while any(s.is_alive() for s in senders):
        done = sum(s.acked for s in senders) / TOTAL
        if killed < 3 and done >= kills[killed]:
            srv.kill()
            killed += 1
            print("SIGKILL %d at %.1f%% acknowledged" % (killed, done * 100), flush=True)
            srv.start()
        time.sleep(0.01)
    for s in senders:
        s.join()
        check(s.error is None, "sender failed: %s" % s.error)
    check(killed == 3, "killed %d times, expected 3" % killed)
    resends = sum(s.resends for s in senders)
    st = status(data)
    m = st["messages"]
    check(m["accepted"] == TOTAL, "accepted %d != sent %d" % (m["accepted"], TOTAL))
    check(m["errors"] == 0 and m["rejected"] == 0 and m["dead_letters"] == 0,
          "unexpected refusals: %r" % m)
    check(m["duplicates"] <= resends, "duplicates %d > resends %d" % (m["duplicates"], resends))
    check(st["events"]["total"] == TOTAL, "events %d != %d" % (st["events"]["total"], TOTAL))
    bk = st["events"]["by_kind"]
    for trig, kind in (("A01", "episode.admitted"), ("A02", "episode.transferred"),
                       ("A03", "episode.discharged")):
        check(bk.get(kind, 0) == all_kinds.count(trig),
              "%s: %d events for %d messages" % (kind, bk.get(kind, 0), all_kinds.count(trig)))
    # The bed board rebuilt after the last restart: the open episodes are
    # those admitted or transferred but not yet discharged.
    open_eps = all_kinds.count("A01") - all_kinds.count("A03")
    board = srv.get_json("/api/v1/bedboard")
    patients = sum(len(w.get("patients", [])) for w in board["wards"])
    check(patients == open_eps, "bed board has %d patients, expected %d" % (patients, open_eps))
    srv.stop()
    print("crash: %d messages over %d connections, 3 SIGKILLs, %d resends, %d duplicates; "
          "applied exactly once" % (TOTAL, CONNS, resends, m["duplicates"]))
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
