#!/usr/bin/python3
"""`tilannekuva keys rotate|status|verify|prune` with the real binary.

A synthetic county feed is imported, plus dead letters (the same messages
from an unknown sender). Then:
  - init made the key file mode 0600, apart from the database, and no key
    is in any other file;
  - rotate puts every message and dead letter under the new key id
    (`keys status`), every payload still opens (`keys verify`), and
    `deadletters replay` still opens a dead letter stored before it;
  - rotate and prune refuse while a server holds the data directory;
  - a rotation stopped halfway (--max-batches) and one killed with SIGKILL
    in the middle leave every payload readable; running rotate again
    resumes (no further key) and completes;
  - prune refuses while any payload is under an older key, then removes the
    older keys; everything still opens; new imports seal under the current
    key."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403


def keys_status(data):
    return json.loads(run(["keys", "status", "--data", data, "--json"]).stdout)


def by_key(st):
    return {k["key"]: (k["messages"], k["dead_letters"]) for k in st["by_key"]}


def verify_all(data, what):
    p = run(["keys", "verify", "--data", data], check_rc=False)
    check(p.returncode == 0, "%s: keys verify failed:\n%s%s" % (what, p.stdout, p.stderr))
    return p.stdout


def mode_of(path):
    return os.stat(path).st_mode & 0o7777


def key_values(path):
    """Every secret in the key file, in hex (not the signing public key,
    which is published next to every checkpoint)."""
    out = []
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            name, v = (x.strip() for x in line.split("=", 1))
            if len(v) == 64 and name != "public":
                out.append(v)
    return out


def check_key_file(data, what):
    kp = os.path.join(data, "keys")
    check(mode_of(kp) == 0o600, "%s: key file mode %o" % (what, mode_of(kp)))
    leftovers = [n for n in os.listdir(data) if n.startswith("keys.")]
    check(not leftovers, "%s: temporary key files left: %r" % (what, leftovers))
    # no secret of the key file in any other file of the directory
    secrets = key_values(kp)
    check(len(secrets) >= 3, "%s: key file has %d secrets" % (what, len(secrets)))
    for name in os.listdir(data):
        if name == "keys":
            continue
        blob = open(os.path.join(data, name), "rb").read()
        low = blob.lower()
        for s in secrets:
            check(s.encode() not in low and bytes.fromhex(s) not in blob,
                  "%s: a secret of the key file is in %s" % (what, name))


def rotation_cursor(db):
    """The marker's message cursor as another process sees it (0: none)."""
    try:
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
        row = c.execute("SELECT value FROM meta WHERE key = 'keys.rotation'").fetchone()
        c.close()
    except sqlite3.Error:
        return 0
    if not row or not row[0]:
        return 0
    return int(row[0].split()[1])


def dead_letter_ids(data):
    out = run(["deadletters", "--data", data, "--all", "list"]).stdout
    return [int(line.split("\t")[0]) for line in out.splitlines() if line.strip()]


def replay_opens(data, dl_id, what):
    p = run(["deadletters", "--data", data, "replay", str(dl_id)], check_rc=False)
    check(p.returncode == 0, "%s: replay of dead letter %d failed: %s%s"
          % (what, dl_id, p.stdout, p.stderr))
    # the sender is still unknown: opened, sent through ingest, refused again
    check(p.stdout.strip() == "%d: refused again" % dl_id,
          "%s: replay said %r" % (what, p.stdout))


def main():
    t0 = time.time()
    root, data = init_data(region="kanta-hame")
    db = os.path.join(data, "tilannekuva.db")
    kp = os.path.join(data, "keys")

    # init: the key file exists, 0600, separate from the database
    check(os.path.isfile(kp), "init made no key file")
    check(mode_of(kp) == 0o600, "key file mode %o after init" % mode_of(kp))
    check(mode_of(data) == 0o700, "data directory mode %o" % mode_of(data))
    check(mode_of(db) == 0o600, "database mode %o" % mode_of(db))

    feed = os.path.join(root, "feed")
    run(["generate", "--region", "kanta-hame", "--from", "2026-10-01", "--days", "2",
         "--seed", "3", "--out", feed])
    run(["import", "--data", data, feed])
    # dead letters: some of the same messages from a sender nobody configured
    first = open(os.path.join(feed, sorted(os.listdir(feed))[0]), "rb").read().split(b"\n")
    odd = os.path.join(root, "odd")
    os.mkdir(odd)
    with open(os.path.join(odd, "unknown.hl7"), "wb") as f:
        for m in first[:12]:
            f.write(m.replace(b"|TKGEN|KANTA-HAME|", b"|STRANGER|NOWHERE|") + b"\n")
    p = run(["import", "--data", data, odd], check_rc=False)
    check("12 rejected (AR)" in p.stdout, "unknown sender import: %s%s" % (p.stdout, p.stderr))
    st = status(data)["messages"]
    n_msg, n_dl = st["accepted"], st["dead_letters"]
    check(n_msg == 2000 and n_dl == 12, "status after import: %r" % st)
    old_dls = dead_letter_ids(data)
    check(len(old_dls) == 12, "dead letters: %r" % old_dls)

    ks = keys_status(data)
    check(ks["current"] == 1 and ks["keys"] == [1], "status before: %r" % ks)
    check(by_key(ks) == {1: (n_msg, n_dl)}, "before rotation: %r" % ks["by_key"])
    check(ks["rotation"] is None and ks["under_older_keys"] == 0, "before: %r" % ks)
    check_key_file(data, "after init and import")

    # 1. a full rotation
    p = run(["keys", "rotate", "--data", data])
    check("added key 2" in p.stdout and "rotation to key 2 complete" in p.stdout,
          "rotate said %r" % p.stdout)
    check("messages: %d re-encrypted" % n_msg in p.stdout, "rotate said %r" % p.stdout)
    check("dead letters: %d re-encrypted" % n_dl in p.stdout, "rotate said %r" % p.stdout)
    ks = keys_status(data)
    check(ks["current"] == 2 and ks["keys"] == [1, 2], "after rotate: %r" % ks)
    check(by_key(ks) == {2: (n_msg, n_dl)}, "after rotate: %r" % ks["by_key"])
    check(ks["rotation"] is None and ks["under_older_keys"] == 0, "after rotate: %r" % ks)
    out = verify_all(data, "after rotate")
    check("messages: %d open, 0 do not" % n_msg in out, "verify: %r" % out)
    check("dead letters: %d open, 0 do not" % n_dl in out, "verify: %r" % out)
    check_key_file(data, "after rotate")
    check(os.path.getsize(db + "-wal") == 0 if os.path.exists(db + "-wal") else True,
          "the WAL was not truncated after the rotation")
    # a dead letter stored under key 1, now under key 2, still opens
    replay_opens(data, old_dls[-1], "after rotate")

    # 2. refused while a server holds the data directory
    srv = Server(data).start()
    try:
        for cmd in (["keys", "rotate", "--data", data], ["keys", "prune", "--data", data]):
            p = run(cmd, check_rc=False)
            check(p.returncode == 1 and "in use by another process" in p.stderr,
                  "%s while serving: %d %s%s" % (cmd[1], p.returncode, p.stdout, p.stderr))
        # status and verify only read: fine beside a server
        check(keys_status(data)["keys"] == [1, 2], "a refused rotate changed the key file")
        verify_all(data, "while serving")
    finally:
        srv.stop()

    # 3. a rotation paused halfway: everything opens, prune refuses
    p = run(["keys", "rotate", "--data", data, "--batch", "100", "--max-batches", "3"])
    check("added key 3" in p.stdout and "paused after 3 batches" in p.stdout,
          "paused rotate said %r" % p.stdout)
    ks = keys_status(data)
    check(ks["current"] == 3 and ks["rotation"] is not None and ks["rotation"]["target"] == 3,
          "paused: %r" % ks)
    check(by_key(ks) == {2: (n_msg - 300, n_dl + 1), 3: (300, 0)},
          "paused: %r" % ks["by_key"])
    verify_all(data, "paused")
    p = run(["keys", "prune", "--data", data], check_rc=False)
    check(p.returncode == 1 and "unfinished" in p.stderr, "prune while paused: %s" % p.stderr)
    replay_opens(data, old_dls[0], "paused, dead letter still under key 2")

    # 4. killed in the middle: resume with one row per transaction, SIGKILL
    proc = subprocess.Popen([BIN, "keys", "rotate", "--data", data, "--batch", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None and rotation_cursor(db) < 400:
        time.sleep(0.002)
    if proc.poll() is not None:
        fail("the rotation finished before it could be killed: %r" % (proc.communicate(),))
    proc.send_signal(signal.SIGKILL)
    out_err = proc.communicate()
    check(proc.returncode == -signal.SIGKILL, "rotate exited with %d: %r"
          % (proc.returncode, out_err))
    ks = keys_status(data)
    got = by_key(ks)
    check(ks["rotation"] is not None and ks["rotation"]["target"] == 3, "killed: %r" % ks)
    check(ks["keys"] == [1, 2, 3], "a resumed rotation added a key: %r" % ks["keys"])
    check(set(got) == {2, 3} and got[2][0] > 0 and got[3][0] > 300
          and got[2][0] + got[3][0] == n_msg, "killed: %r" % ks["by_key"])
    out = verify_all(data, "after SIGKILL")
    check("messages: %d open, 0 do not" % n_msg in out, "verify after kill: %r" % out)
    print("killed with %d messages under key 3 and %d under key 2; all open"
          % (got[3][0], got[2][0]), flush=True)

    # ... and a second run completes it
    p = run(["keys", "rotate", "--data", data])
    check("resuming the unfinished rotation to key 3" in p.stdout
          and "rotation to key 3 complete" in p.stdout, "resume said %r" % p.stdout)
    ks = keys_status(data)
    check(ks["keys"] == [1, 2, 3] and ks["current"] == 3, "resumed: %r" % ks)
    n_dl = status(data)["messages"]["dead_letters"]  # the replays added some
    check(by_key(ks) == {3: (n_msg, n_dl)} and ks["rotation"] is None,
          "resumed: %r" % ks)
    verify_all(data, "resumed")
    # a marker left towards a key that is no longer current (the key file
    # moved on): the next run rotates towards the current key from the start
    c = sqlite3.connect(db)
    c.execute("UPDATE meta SET value = '2 1500 3' WHERE key = 'keys.rotation'")
    c.commit()
    c.close()
    p = run(["keys", "rotate", "--data", data])
    check("resuming the unfinished rotation to key 3" in p.stdout
          and "messages: 0 re-encrypted, %d already under key 3" % n_msg in p.stdout
          and "dead letters: 0 re-encrypted, %d already under key 3" % n_dl in p.stdout,
          "resume towards the current key said %r" % p.stdout)
    check(keys_status(data)["rotation"] is None, "marker left after the resume")

    # 5. prune: only the current key stays, everything opens
    p = run(["keys", "prune", "--data", data])
    check("removed 2 older keys" in p.stdout, "prune said %r" % p.stdout)
    ks = keys_status(data)
    check(ks["keys"] == [3] and ks["current"] == 3 and by_key(ks) == {3: (n_msg, n_dl)},
          "after prune: %r" % ks)
    verify_all(data, "after prune")
    replay_opens(data, old_dls[1], "after prune")
    check_key_file(data, "after prune")

    # 6. new input is sealed under the current key; prune refuses while a
    # rotation is unfinished, and while payloads under an older key are
    # there without one (a database restored from a backup)
    more = os.path.join(root, "more")
    run(["generate", "--region", "kanta-hame", "--from", "2026-10-03", "--days", "1",
         "--seed", "4", "--out", more])
    run(["import", "--data", data, more])
    ks = keys_status(data)
    n_msg2 = status(data)["messages"]["accepted"]
    n_dl = status(data)["messages"]["dead_letters"]
    check(n_msg2 > n_msg and by_key(ks)[3][0] == n_msg2, "new input: %r" % ks["by_key"])
    run(["keys", "rotate", "--data", data, "--max-batches", "1", "--batch", "10"])
    p = run(["keys", "prune", "--data", data], check_rc=False)
    check(p.returncode == 1 and "rotation to key 4 is unfinished" in p.stderr,
          "prune: %s" % p.stderr)
    c = sqlite3.connect(db)
    c.execute("UPDATE meta SET value = '' WHERE key = 'keys.rotation'")
    c.commit()
    c.close()
    ks = keys_status(data)
    check(ks["rotation"] is None and ks["under_older_keys"] == n_msg2 - 10 + n_dl,
          "restored: %r" % ks)
    p = run(["keys", "prune", "--data", data], check_rc=False)
    check(p.returncode == 1 and "%d payloads are not sealed under the current key 4"
          % (n_msg2 - 10 + n_dl) in p.stderr, "prune: %s" % p.stderr)
    check(keys_status(data)["keys"] == [3, 4], "a refused prune changed the key file")
    p = run(["keys", "rotate", "--data", data])
    check("added key 5" in p.stdout and "rotation to key 5 complete" in p.stdout,
          "rotate said %r" % p.stdout)
    p = run(["keys", "prune", "--data", data])
    check("removed 2 older keys" in p.stdout, "prune said %r" % p.stdout)
    ks = keys_status(data)
    check(ks["keys"] == [5] and by_key(ks) == {5: (n_msg2, n_dl)}, "at the end: %r" % ks)
    verify_all(data, "at the end")
    check_key_file(data, "at the end")

    # usage errors
    for args in (["keys"], ["keys", "rotate"], ["keys", "spin", "--data", data],
                 ["keys", "rotate", "--data", data, "--batch", "0"],
                 ["keys", "status", "--data", data, "--batch", "5"]):
        p = run(args, check_rc=False)
        check(p.returncode == 2, "%r: exit %d, expected 2" % (args, p.returncode))
    p = run(["keys", "status", "--data", os.path.join(root, "nowhere")], check_rc=False)
    check(p.returncode == 1, "status of a missing directory: %d" % p.returncode)
    print("keys: rotate, resume after pause and SIGKILL, prune, refusal while serving "
          "(%.1f s)" % (time.time() - t0))
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
