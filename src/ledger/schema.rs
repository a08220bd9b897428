//! Schema migrations, in code. `PRAGMA user_version` holds the applied version; each
//! migration runs in its own transaction.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: requests, subjects, tasks, items, audit.
    r#"
    CREATE TABLE requests (
        id                      TEXT PRIMARY KEY,
        kind                    TEXT NOT NULL CHECK (kind IN ('access', 'erasure')),
        status                  TEXT NOT NULL,
        received_at             TEXT NOT NULL,
        due_at                  TEXT NOT NULL,
        identity_verification   TEXT NOT NULL,
        extended_due_at         TEXT,
        extension_reason        TEXT,
        verification_ran_at     TEXT,
        verification_remaining  TEXT NOT NULL DEFAULT '[]',
        closed_at               TEXT,
        updated_at              TEXT NOT NULL
    );
    -- The subject's identifiers: the only personal data in the ledger, purged at closure.
    CREATE TABLE subjects (
        request_id   TEXT PRIMARY KEY REFERENCES requests(id),
        identifiers  TEXT NOT NULL
    );
    CREATE TABLE tasks (
        request_id  TEXT NOT NULL REFERENCES requests(id),
        processor   TEXT NOT NULL,
        state       TEXT NOT NULL,
        stage       TEXT NOT NULL,
        summary     TEXT NOT NULL DEFAULT '',
        error       TEXT,
        error_kind  TEXT,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (request_id, processor)
    );
    -- One row per discovered record: how it matched, what the plan does with it, and what
    -- happened. Ids and categories only, no field values.
    CREATE TABLE items (
        id            INTEGER PRIMARY KEY,
        request_id    TEXT NOT NULL REFERENCES requests(id),
        processor     TEXT NOT NULL,
        object        TEXT NOT NULL,
        record_id     TEXT NOT NULL,
        scope         TEXT NOT NULL DEFAULT '',
        matched_by    TEXT NOT NULL,
        categories    TEXT NOT NULL,
        linked_to     TEXT,
        action        TEXT NOT NULL,
        fields        TEXT NOT NULL DEFAULT '[]',
        basis         TEXT,
        retain_until  TEXT,
        note          TEXT,
        state         TEXT NOT NULL,
        outcome       TEXT,
        detail        TEXT,
        updated_at    TEXT NOT NULL,
        UNIQUE (request_id, processor, object, record_id, scope)
    );
    CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        request_id  TEXT,
        event       TEXT NOT NULL,
        detail      TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#,
    // 2: how reports name a processor; when a processor without an API must have answered.
    r#"
    ALTER TABLE tasks ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE tasks ADD COLUMN answer_due TEXT;
    "#,
    // 3: forwarding to the controller.
    r#"
    ALTER TABLE requests ADD COLUMN controller TEXT;
    ALTER TABLE requests ADD COLUMN forwarded_at TEXT;
    "#,
    // 4: a task waiting for a vendor's spent daily limit resumes after this moment.
    r#"
    ALTER TABLE tasks ADD COLUMN resume_after TEXT;
    "#,
    // 5: walking one processor's items in id order (exports of many records).
    r#"
    CREATE INDEX items_by_processor ON items (request_id, processor, id);
    "#,
    // 6: what identifies a record to a person without its content (folder, date, size).
    r#"
    ALTER TABLE items ADD COLUMN descriptor TEXT NOT NULL DEFAULT '{}';
    "#,
    // 7: the processor register's history (`dsrhub inventory sync`).
    r#"
    CREATE TABLE inventory_runs (
        id  INTEGER PRIMARY KEY,
        at  TEXT NOT NULL
    );
    CREATE TABLE inventory_entries (
        run_id     INTEGER NOT NULL REFERENCES inventory_runs (id),
        processor  TEXT NOT NULL,
        entry      TEXT NOT NULL,
        PRIMARY KEY (run_id, processor)
    );
    "#,
    // 8: requests received through the HTTP API: the submitter's id, status callbacks.
    r#"
    ALTER TABLE requests ADD COLUMN external_id TEXT;
    ALTER TABLE requests ADD COLUMN callbacks TEXT NOT NULL DEFAULT '[]';
    CREATE UNIQUE INDEX requests_by_external_id ON requests (external_id)
        WHERE external_id IS NOT NULL;
    "#,
    // 9: status callbacks, one row per request, URL and status.
    r#"
    CREATE TABLE callbacks (
        request_id    TEXT NOT NULL REFERENCES requests (id),
        url           TEXT NOT NULL,
        status        TEXT NOT NULL,
        delivered_at  TEXT,
        last_error    TEXT,
        updated_at    TEXT NOT NULL,
        PRIMARY KEY (request_id, url, status)
    );
    "#,
];

/// Bring the schema up to date.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the ledger has schema version {current}, newer than this dsrhub knows ({}); upgrade dsrhub",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
