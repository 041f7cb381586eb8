"""An application writing one database through its own Python driver
(psycopg, PyMySQL or the standard sqlite3 module), for hubsync's soak test.

    writer.py ENGINE TARGET NAME OWN_FROM OWN_TO SHARED_FROM SHARED_TO SECONDS SEED OUT

Runs transactions of 1-5 writes on distinct random keys (upserts of
(id, v, who) and deletes) for SECONDS: most on keys only this writer
touches (OWN_FROM..OWN_TO), some on keys every writer touches. A failed
transaction (deadlock, lock timeout, busy) is rolled back and counted, as
an application would. Writes OUT (JSON): the last committed state of every
own key it wrote (null: deleted), and the counts.
"""

import json
import random
import sys
import time

engine, target, name = sys.argv[1], sys.argv[2], sys.argv[3]
own = range(int(sys.argv[4]), int(sys.argv[5]) + 1)
shared = range(int(sys.argv[6]), int(sys.argv[7]) + 1)
seconds, seed, out = float(sys.argv[8]), int(sys.argv[9]), sys.argv[10]

if engine == "postgres":
    import psycopg

    conn = psycopg.connect(target)
    upsert = ("INSERT INTO items (id, v, who) VALUES (%s, %s, %s) "
              "ON CONFLICT (id) DO UPDATE SET v = excluded.v, who = excluded.who")
    delete = "DELETE FROM items WHERE id = %s"
elif engine == "mariadb":
    import pymysql

    rest = target.split("://", 1)[1]
    userinfo, hostdb = rest.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    hostport, db = hostdb.split("/", 1)
    host, _, port = hostport.partition(":")
    conn = pymysql.connect(host=host, port=int(port or 3306), user=user, password=password, database=db,
                           autocommit=False)
    upsert = ("INSERT INTO items (id, v, who) VALUES (%s, %s, %s) "
              "ON DUPLICATE KEY UPDATE v = VALUES(v), who = VALUES(who)")
    delete = "DELETE FROM items WHERE id = %s"
else:
    import sqlite3

    conn = sqlite3.connect(target, timeout=10)
    upsert = ("INSERT INTO items (id, v, who) VALUES (?, ?, ?) "
              "ON CONFLICT (id) DO UPDATE SET v = excluded.v, who = excluded.who")
    delete = "DELETE FROM items WHERE id = ?"

rng = random.Random(seed)
last = {}
committed = failed = 0
counter = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    n = rng.randint(1, 5)
    keys = set()
    while len(keys) < n:
        keys.add(rng.choice(own) if rng.random() < 0.8 else rng.choice(shared))
    pending = {}
    try:
        cur = conn.cursor()
        for k in sorted(keys, key=lambda _: rng.random()):
            counter += 1
            if rng.random() < 0.8:
                cur.execute(upsert, (k, counter, name))
                pending[k] = counter
            else:
                cur.execute(delete, (k,))
                pending[k] = None
        conn.commit()
        committed += 1
        for k, v in pending.items():
            if k in own:
                last[k] = v
    except Exception as e:  # an application rolls back and goes on
        failed += 1
        print(f"{name}: {e}", file=sys.stderr)
        try:
            conn.rollback()
        except Exception:
            pass
    time.sleep(rng.random() * 0.01)

with open(out, "w") as f:
    json.dump({"last": {str(k): v for k, v in last.items()}, "committed": committed, "failed": failed}, f)
