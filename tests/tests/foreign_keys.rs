//! Foreign keys on members do not wedge a sync: writes go in dependency
//! order (parents' inserts before children's, children's deletes before
//! parents'), read from the foreign keys on the hub and the members, not
//! from the order tables are listed in; self-references included. The
//! members' schemas are the full-fidelity ones an application made itself.

use hubsync_tests::{Db, Engine, Workspace, hubsync, sync_settled};

const ENGINES: [Engine; 3] = [Engine::Sqlite, Engine::Postgres, Engine::Mariadb];

const SCHEMA: &str = "
CREATE TABLE customer (id int NOT NULL PRIMARY KEY, name varchar(40));
CREATE TABLE orders (id int NOT NULL PRIMARY KEY, customer_id int NOT NULL, note varchar(40),
    FOREIGN KEY (customer_id) REFERENCES customer (id));
CREATE TABLE employee (id int NOT NULL PRIMARY KEY, manager_id int,
    FOREIGN KEY (manager_id) REFERENCES employee (id));
";

fn pair(source: Engine, dest: Engine) {
    let (hub, member, ws) = (Db::new(source), Db::new(dest), Workspace::new());
    let label = format!("{source:?} hub → {dest:?} member");
    hub.exec(SCHEMA);
    member.exec(SCHEMA);
    // Employees refer to managers with higher keys: one batch, written in
    // key order, meets a child before its parent.
    hub.exec(
        "INSERT INTO customer VALUES (1, 'one'), (2, 'two');
         INSERT INTO orders VALUES (10, 1, 'a'), (11, 2, 'b');
         INSERT INTO employee VALUES (3, NULL);
         INSERT INTO employee VALUES (2, 3);
         INSERT INTO employee VALUES (1, 2);",
    );
    // Children listed first.
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"orders\"\n\n[[group.table]]\nname = \"employee\"\n\n[[group.table]]\nname = \"customer\"\n",
        hub.url, member.url
    ));
    let sync = |what: &str| {
        let out = sync_settled(&file).0;
        assert!(out.ok, "{label}: {what}:\n{}\n{}", out.stdout, out.stderr);
        assert!(!out.stdout.contains("quarantined"), "{label}: {what}: nothing left in quarantine:\n{}", out.stdout);
    };
    sync("first sync");
    assert_eq!(member.scalar("SELECT count(*) FROM employee;"), "3", "{label}");

    // The hub deletes a customer with its orders, adds one with an order,
    // and reshapes the hierarchy.
    hub.exec(
        "DELETE FROM orders WHERE customer_id = 1; DELETE FROM customer WHERE id = 1;
         INSERT INTO customer VALUES (3, 'three'); INSERT INTO orders VALUES (12, 3, 'c');
         UPDATE employee SET manager_id = NULL WHERE id = 2; DELETE FROM employee WHERE id = 1;
         DELETE FROM employee WHERE id = 3;
         INSERT INTO employee VALUES (5, NULL); INSERT INTO employee VALUES (4, 5); UPDATE employee SET manager_id = 4 WHERE id = 2;",
    );
    sync("sync of hub deletes and inserts");
    assert_eq!(member.query("SELECT id FROM customer ORDER BY id;"), [["2"], ["3"]], "{label}");
    assert_eq!(member.query("SELECT id, customer_id FROM orders ORDER BY id;"), [["11", "2"], ["12", "3"]], "{label}");
    assert_eq!(member.query("SELECT id FROM employee ORDER BY id;"), [["2"], ["4"], ["5"]], "{label}");

    // The member's application does the same the other way.
    member.exec(
        "DELETE FROM orders WHERE customer_id = 2; DELETE FROM customer WHERE id = 2;
         INSERT INTO customer VALUES (7, 'seven'); INSERT INTO orders VALUES (17, 7, 'm');
         INSERT INTO employee VALUES (7, NULL); INSERT INTO employee VALUES (6, 7);",
    );
    sync("sync of member deletes and inserts");
    assert_eq!(hub.query("SELECT id FROM customer ORDER BY id;"), [["3"], ["7"]], "{label}");
    assert_eq!(hub.query("SELECT id FROM orders ORDER BY id;"), [["12"], ["17"]], "{label}");
    let out = hubsync(&["verify", "--config", &file]);
    assert!(out.ok, "{label}: converged:\n{}", out.stdout);
    let q = hubsync(&["quarantine", "--config", &file, "--json"]);
    assert_eq!(q.stdout.trim(), "[]", "{label}: the quarantine is empty");
}

#[test]
fn foreign_keys_on_every_engine_pair_never_wedge_a_sync() {
    for source in ENGINES {
        for dest in ENGINES {
            pair(source, dest);
        }
    }
}

#[test]
fn foreign_keys_on_every_pair_with_sql_server_never_wedge_a_sync() {
    if !hubsync_tests::mssql_available() {
        return;
    }
    for (source, dest) in hubsync_tests::sql_server_pairs(&ENGINES) {
        pair(source, dest);
    }
}
