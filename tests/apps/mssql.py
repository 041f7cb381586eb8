"""A SQL Server application's own client for the process-level tests:
pymssql (FreeTDS, not hubsync's tiberius). Reads one T-SQL batch from stdin,
runs it with autocommit, prints the rows of every result, cells separated by
the unit separator (NULL as an empty cell). Errors go to stderr as
"ERROR: …" with exit status 1.

Usage: mssql.py HOST PORT USER PASSWORD DATABASE
"""
import sys

import pymssql

SEP = "\x1f"


def main():
    host, port, user, password, database = sys.argv[1:6]
    sql = sys.stdin.read()
    try:
        conn = pymssql.connect(server=host, port=int(port), user=user, password=password,
                               database=database, autocommit=True, login_timeout=10)
        cur = conn.cursor()
        cur.execute(sql)
        while True:
            if cur.description is not None:
                for row in cur.fetchall():
                    print(SEP.join("" if v is None else str(v) for v in row))
            if not cur.nextset():
                break
        conn.close()
    except Exception as e:  # any driver error: report it as the other clients do
        print(f"ERROR: {e}", file=sys.stderr)
        sys.exit(1)


main()
