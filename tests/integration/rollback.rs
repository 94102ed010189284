use crate::support::{fresh_db, TestProject};

#[tokio::test]
async fn rollback_uses_the_ledger_when_the_file_is_gone() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    p.write("2_b.down.sql", "DROP TABLE b;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    std::fs::remove_file(p.migrations().join("2_b.up.sql")).unwrap();
    std::fs::remove_file(p.migrations().join("2_b.down.sql")).unwrap();

    let out = p.sluice(&["rollback", "--steps", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("down SQL from the ledger"), "{}", out.stdout);
    let gone: bool =
        c.query_one("SELECT to_regclass('public.b') IS NULL", &[]).await.unwrap().get(0);
    assert!(gone);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(
        j["migrations"].as_array().unwrap().len(),
        1,
        "rolled back and gone: only history shows it"
    );
    let json = p.sluice(&["history", "--format", "json"]).json();
    let last = json["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["direction"], "down");
    assert_eq!(last["version"], "2");
}

#[tokio::test]
async fn rollback_refuses_a_migration_without_down_sql_and_names_it() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    p.write("3_c.up.sql", "CREATE TABLE c (id int);\n");
    p.write("3_c.down.sql", "DROP TABLE c;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let out = p.sluice(&["rollback", "--to", "0"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("2_b"), "{}", out.stderr);
    // Refused before anything ran: c is still there.
    let c_exists: bool =
        c.query_one("SELECT to_regclass('public.c') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(c_exists);
    let ok = p.sluice(&["rollback", "--to", "2"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let too_many = p.sluice(&["rollback", "--steps", "5"]);
    assert_eq!(too_many.code, 2);
    assert!(too_many.stderr.contains("only 2"), "{}", too_many.stderr);
    let not_applied = p.sluice(&["rollback", "--to", "3"]);
    assert_eq!(not_applied.code, 2);
}

#[tokio::test]
async fn failing_down_rolls_back_and_keeps_the_migration_applied() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\nDROP TABLE does_not_exist;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let out = p.sluice(&["rollback", "--steps", "1"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("1_a.down.sql:2"), "{}", out.stderr);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "applied");
    let c = db.client().await;
    let a: bool =
        c.query_one("SELECT to_regclass('public.a') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(a, "the down ran in a transaction and was undone");
}
