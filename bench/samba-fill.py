# Offline fill of a provisioned (stopped) Samba AD DC for bench/population.ts: writes the users
# and group memberships of a JSON file into private/sam.ldb with Samba's own Python bindings
# (samba.samdb.SamDB), a transaction per chunk. The DC must not be running.
#
#   /usr/bin/python3 bench/samba-fill.py <smb.conf> <sam.ldb> <fill.json> [chunk]
#
# fill.json: { "users": [{ "dn": ..., "attrs": { name: value | [values] } }],
#              "members": { groupDn: [memberDn, ...] } }
import json
import sys
import time

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

conf, url, path = sys.argv[1:4]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=url, lp=lp, session_info=system_session())
with open(path, encoding="utf-8") as f:
    fill = json.load(f)

# One transaction per chunk: within one transaction ldb keeps every index change in memory and
# the cost per add grows with the transaction (50,000 users in one did not finish in minutes).
CHUNK = int(sys.argv[4]) if len(sys.argv) > 4 else 2000


def chunked(items, write):
    for k in range(0, len(items), CHUNK):
        db.transaction_start()
        try:
            for item in items[k : k + CHUNK]:
                write(item)
            db.transaction_commit()
        except BaseException:
            db.transaction_cancel()
            raise
        print(f"{k + CHUNK} ({time.time() - t0:.1f} s)", file=sys.stderr, flush=True)


def add_user(user):
    msg = ldb.Message(ldb.Dn(db, user["dn"]))
    for name, value in user["attrs"].items():
        values = value if isinstance(value, list) else [value]
        msg[name] = ldb.MessageElement([v.encode("utf-8") for v in values], ldb.FLAG_MOD_ADD, name)
    db.add(msg)


def add_members(batch):
    group, members = batch
    msg = ldb.Message(ldb.Dn(db, group))
    msg["member"] = ldb.MessageElement([m.encode("utf-8") for m in members], ldb.FLAG_MOD_ADD, "member")
    db.modify(msg)


t0 = time.time()
chunked(fill["users"], add_user)
t1 = time.time()
batches = [
    (group, members[k : k + 1000])
    for group, members in fill["members"].items()
    for k in range(0, len(members), 1000)
]
chunked(batches, add_members)
t2 = time.time()
t3 = time.time()
print(
    json.dumps(
        {
            "users": len(fill["users"]),
            "memberships": sum(len(m) for m in fill["members"].values()),
            "usersS": round(t1 - t0, 1),
            "membersS": round(t2 - t1, 1),
            
        }
    )
)
