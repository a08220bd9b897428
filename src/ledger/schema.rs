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
    // 10: the life cycle's facts. An approval names the plan digest it approves and binds the
    // tasks planned then; what is planned later waits for its own approval. `acted_at`: when
    // the first action at a processor ran (never reset). One runner per request at a time
    // (a lease every process honours). Every extension of the deadline, with who gave it.
    r#"
    CREATE TABLE approvals (
        id          INTEGER PRIMARY KEY,
        request_id  TEXT NOT NULL REFERENCES requests (id),
        digest      TEXT NOT NULL,
        approver    TEXT NOT NULL,
        actions     INTEGER NOT NULL,
        at          TEXT NOT NULL
    );
    ALTER TABLE tasks ADD COLUMN approval_id INTEGER REFERENCES approvals (id);
    ALTER TABLE requests ADD COLUMN acted_at TEXT;
    CREATE TABLE leases (
        request_id  TEXT PRIMARY KEY REFERENCES requests (id),
        owner       TEXT NOT NULL,
        expires_at  TEXT NOT NULL
    );
    CREATE TABLE extensions (
        id          INTEGER PRIMARY KEY,
        request_id  TEXT NOT NULL REFERENCES requests (id),
        months      INTEGER NOT NULL,
        until       TEXT NOT NULL,
        reason      TEXT NOT NULL,
        given_by    TEXT NOT NULL,
        at          TEXT NOT NULL
    );
    -- Ledgers from before: a `plan.approved` audit entry approved every task planned by then.
    INSERT INTO approvals (request_id, digest, approver, actions, at)
        SELECT request_id, 'unrecorded', 'approved before approvals named their plan', 0, MIN(at)
        FROM audit WHERE event = 'plan.approved' AND request_id IS NOT NULL GROUP BY request_id;
    UPDATE tasks SET approval_id =
        (SELECT id FROM approvals WHERE approvals.request_id = tasks.request_id)
        WHERE stage != 'new';
    UPDATE requests SET acted_at = updated_at
        WHERE forwarded_at IS NOT NULL
           OR EXISTS (SELECT 1 FROM items WHERE items.request_id = requests.id
                      AND items.action IN ('delete', 'anonymize')
                      AND items.state IN ('started', 'done', 'failed'))
           OR (kind = 'erasure' AND EXISTS (SELECT 1 FROM tasks WHERE tasks.request_id = requests.id
                      AND tasks.stage IN ('awaiting_answer', 'answered')));
    INSERT INTO extensions (request_id, months, until, reason, given_by, at)
        SELECT id, 0, extended_due_at, COALESCE(extension_reason, ''), 'unrecorded', updated_at
        FROM requests WHERE extended_due_at IS NOT NULL;
    "#,
    // 11: a status callback's intent: `attempts` is counted up, and committed, before each POST,
    // so a delivery cut off by a crash is known to have maybe reached the receiver.
    r#"
    ALTER TABLE callbacks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    "#,
    // 12: records a processor removed from its live data but keeps restorable until a date
    // (a Microsoft 365 user in directory/deletedItems): checked again after that date.
    r#"
    CREATE TABLE soft_deletions (
        item_id           INTEGER PRIMARY KEY REFERENCES items (id),
        request_id        TEXT NOT NULL REFERENCES requests (id),
        processor         TEXT NOT NULL,
        reference         TEXT NOT NULL,
        restorable_until  TEXT NOT NULL,
        checked_at        TEXT,
        purged_at         TEXT
    );
    "#,
    // 13: the hub's own retention: when a closed request's export was removed, and when the
    // request was reduced to its evidence (ids, hashes, counts, dates).
    r#"
    ALTER TABLE requests ADD COLUMN export_removed_at TEXT;
    ALTER TABLE requests ADD COLUMN reduced_at TEXT;
    "#,
    // 14: the language the subject is answered in (`nl`, `en`).
    r#"
    ALTER TABLE requests ADD COLUMN language TEXT NOT NULL DEFAULT 'nl';
    "#,
    // 15: the dashboard's named staff users (argon2id PHC strings, never the password) and
    // their sessions (only the SHA-256 of the cookie), so a restart signs nobody out.
    r#"
    CREATE TABLE staff_users (
        name           TEXT PRIMARY KEY,
        password_hash  TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        changed_at     TEXT NOT NULL
    );
    CREATE TABLE staff_sessions (
        token_sha256   TEXT PRIMARY KEY,
        user_name      TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        last_seen_at   TEXT NOT NULL,
        expires_at     TEXT NOT NULL
    );
    "#,
    // 16: batches: many subjects' requests planned, approved and carried out together. Each
    // request keeps the line of the subjects file it came from (a report can name the
    // subject by line once the identifiers are purged).
    r#"
    CREATE TABLE batches (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('access', 'erasure')),
        origin      TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    ALTER TABLE requests ADD COLUMN batch_id TEXT REFERENCES batches (id);
    ALTER TABLE requests ADD COLUMN batch_line INTEGER;
    CREATE INDEX requests_by_batch ON requests (batch_id, batch_line);
    "#,
    // 17: legal holds: addresses the sweep never erases. Kept as the SHA-256 of the
    // normalised address (enough to match; a copy of the ledger does not list who is on
    // hold), with a masked hint for the people reading the list.
    r#"
    CREATE TABLE holds (
        identifier_sha256  TEXT PRIMARY KEY,
        hint               TEXT NOT NULL,
        reason             TEXT NOT NULL,
        added_by           TEXT NOT NULL,
        added_at           TEXT NOT NULL
    );
    "#,
    // 18: records kept by an earlier request, acted on by id once their retention ended (the
    // sweep's `retained_expired` rule), or found at a place named for rejected applicants (its
    // `applicants` rule): a request with targets searches for nobody, it looks these records
    // up. `from_item` is the earlier request's item that kept the record, if any.
    // `retained_keys`: the hold keys (SHA-256, as `holds`) of a closed request's addresses,
    // kept while it has retained records, so a legal hold placed after its identifiers were
    // purged still covers those records when their retention ends.
    r#"
    CREATE TABLE targets (
        request_id  TEXT NOT NULL REFERENCES requests (id),
        processor   TEXT NOT NULL,
        object      TEXT NOT NULL,
        record_id   TEXT NOT NULL,
        scope       TEXT NOT NULL DEFAULT '',
        from_item   INTEGER REFERENCES items (id),
        -- 1: the rule that selected it decided its retention has ended (rejected applicants'
        -- mail is not kept as correspondence); 0: the record's own retention still counts.
        retention_decided  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (request_id, processor, object, record_id, scope)
    );
    CREATE INDEX targets_by_item ON targets (from_item);
    CREATE TABLE retained_keys (
        request_id         TEXT NOT NULL REFERENCES requests (id),
        identifier_sha256  TEXT NOT NULL,
        PRIMARY KEY (request_id, identifier_sha256)
    );
    CREATE INDEX items_retained ON items (retain_until) WHERE action = 'retain';
    "#,
    // 19: the other rights (rectification, restriction and its lifting, objection). `kind`'s
    // CHECK is widened by rebuilding `requests` (SQLite cannot alter a CHECK; `migrate` runs
    // this with foreign keys off and checks them before committing). `changes`: what a
    // request asks (the corrected values, the restriction's reason, the purpose objected
    // to), as JSON; a rectification's values are personal data and purged at closure.
    // `item_changes`: per planned record, the vendor fields it changes from what to what (a
    // rectification's values purged at closure, a restriction's kept: lifting it puts them
    // back).
    r#"
    CREATE TABLE requests_19 (
        id                      TEXT PRIMARY KEY,
        kind                    TEXT NOT NULL CHECK (kind IN
                                    ('access', 'erasure', 'rectification', 'restriction', 'lift', 'objection')),
        status                  TEXT NOT NULL,
        received_at             TEXT NOT NULL,
        due_at                  TEXT NOT NULL,
        identity_verification   TEXT NOT NULL,
        extended_due_at         TEXT,
        extension_reason        TEXT,
        verification_ran_at     TEXT,
        verification_remaining  TEXT NOT NULL DEFAULT '[]',
        closed_at               TEXT,
        updated_at              TEXT NOT NULL,
        controller              TEXT,
        forwarded_at            TEXT,
        external_id             TEXT,
        callbacks               TEXT NOT NULL DEFAULT '[]',
        acted_at                TEXT,
        export_removed_at       TEXT,
        reduced_at              TEXT,
        language                TEXT NOT NULL DEFAULT 'nl',
        batch_id                TEXT REFERENCES batches (id),
        batch_line              INTEGER
    );
    INSERT INTO requests_19 (id, kind, status, received_at, due_at, identity_verification,
            extended_due_at, extension_reason, verification_ran_at, verification_remaining,
            closed_at, updated_at, controller, forwarded_at, external_id, callbacks, acted_at,
            export_removed_at, reduced_at, language, batch_id, batch_line)
        SELECT id, kind, status, received_at, due_at, identity_verification,
            extended_due_at, extension_reason, verification_ran_at, verification_remaining,
            closed_at, updated_at, controller, forwarded_at, external_id, callbacks, acted_at,
            export_removed_at, reduced_at, language, batch_id, batch_line
        FROM requests;
    DROP TABLE requests;
    ALTER TABLE requests_19 RENAME TO requests;
    CREATE UNIQUE INDEX requests_by_external_id ON requests (external_id)
        WHERE external_id IS NOT NULL;
    CREATE INDEX requests_by_batch ON requests (batch_id, batch_line);
    CREATE TABLE request_changes (
        request_id  TEXT PRIMARY KEY REFERENCES requests (id),
        change      TEXT NOT NULL,
        reason      TEXT
    );
    CREATE TABLE item_changes (
        item_id     INTEGER PRIMARY KEY REFERENCES items (id),
        request_id  TEXT NOT NULL REFERENCES requests (id),
        changes     TEXT NOT NULL
    );
    CREATE INDEX item_changes_by_request ON item_changes (request_id);
    "#,
    // 20: a portable access request (art. 20): its export holds only what the person
    // provided under consent or contract.
    r#"
    ALTER TABLE requests ADD COLUMN portable INTEGER NOT NULL DEFAULT 0;
    "#,
];

/// Bring the schema up to date.
///
/// Safe when several processes open a new ledger at once: the version is read inside a
/// `BEGIN IMMEDIATE` transaction, so the second process waits for the first one's migration
/// and then finds nothing left to do (instead of failing with "table already exists").
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    // A migration that rebuilds a table (19) drops the old one while other tables refer to
    // it: foreign keys are off meanwhile (the pragma is a no-op inside a transaction) and
    // checked before the commit; then they are on again, as before.
    let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = migrate_in_transaction(conn);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    result
}

fn migrate_in_transaction(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the ledger has schema version {current}, newer than this dsrhub knows ({}); upgrade dsrhub",
            MIGRATIONS.len()
        )));
    }
    for sql in MIGRATIONS.iter().skip(current) {
        tx.execute_batch(sql)?;
    }
    if current < MIGRATIONS.len() {
        let broken: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        if let Some(table) = broken {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "the ledger's migration left a broken reference in `{table}`; nothing was changed"
            )));
        }
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger written by the version before the other rights, with requests of both kinds
    /// and everything that refers to them.
    fn ledger_at_18() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        for sql in &MIGRATIONS[..18] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 18).unwrap();
        conn.execute_batch(
            "INSERT INTO batches VALUES ('b1', 'erasure', 'sweep: contract_ended', '2026-01-01T00:00:00Z');
             INSERT INTO requests (id, kind, status, received_at, due_at, identity_verification,
                 updated_at, external_id, language, batch_id, batch_line, closed_at)
             VALUES ('old-access', 'access', 'completed', '2025-01-01T00:00:00Z',
                     '2025-02-01T00:00:00Z', '', '2025-01-20T00:00:00Z', 'ext-1', 'en', NULL, NULL,
                     '2025-01-20T00:00:00Z'),
                    ('open-erasure', 'erasure', 'planned', '2026-11-01T00:00:00Z',
                     '2026-12-01T00:00:00Z', 'passport seen', '2026-11-02T00:00:00Z', NULL, 'nl',
                     'b1', 3, NULL);
             INSERT INTO subjects VALUES ('open-erasure', '{\"emails\":[\"jan@example.nl\"]}');
             INSERT INTO tasks (request_id, processor, state, stage, updated_at)
                 VALUES ('open-erasure', 'moneybird', 'pending', 'planned', '2026-11-02T00:00:00Z');
             INSERT INTO items (request_id, processor, object, record_id, matched_by, categories,
                 action, state, updated_at)
                 VALUES ('open-erasure', 'moneybird', 'contact', '7', 'exact_email', '[]',
                         'delete', 'planned', '2026-11-02T00:00:00Z');
             INSERT INTO approvals (request_id, digest, approver, actions, at)
                 VALUES ('open-erasure', 'abc', 'Els', 1, '2026-11-02T00:00:00Z');
             INSERT INTO targets (request_id, processor, object, record_id, from_item)
                 VALUES ('open-erasure', 'moneybird', 'contact', '7', 1);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn the_other_rights_migrate_a_ledger_with_requests_and_keep_every_reference() {
        let mut conn = ledger_at_18();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        // Foreign keys are enforced again, and nothing refers to a missing row.
        let enforced: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(enforced);
        let broken: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
        // Every column of the old requests came along.
        let row: (String, String, String, Option<String>, String, Option<i64>) = conn
            .query_row(
                "SELECT kind, status, identity_verification, batch_id, language, batch_line
                 FROM requests WHERE id = 'open-erasure'",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(
            row,
            (
                "erasure".into(),
                "planned".into(),
                "passport seen".into(),
                Some("b1".into()),
                "nl".into(),
                Some(3)
            )
        );
        let external: String = conn
            .query_row(
                "SELECT external_id FROM requests WHERE id = 'old-access'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(external, "ext-1");
        // The indexes are back: an external id is still unique.
        let duplicate = conn.execute(
            "INSERT INTO requests (id, kind, status, received_at, due_at, identity_verification,
                 updated_at, external_id)
             VALUES ('x', 'access', 'received', 'a', 'b', '', 'c', 'ext-1')",
            [],
        );
        assert!(duplicate.is_err());
        // The new kinds are accepted, an unknown one still refused, and references to
        // requests are still enforced.
        for kind in ["rectification", "restriction", "lift", "objection"] {
            conn.execute(
                "INSERT INTO requests (id, kind, status, received_at, due_at,
                     identity_verification, updated_at)
                 VALUES (?1, ?1, 'received', 'a', 'b', '', 'c')",
                [kind],
            )
            .unwrap();
        }
        assert!(conn
            .execute(
                "INSERT INTO requests (id, kind, status, received_at, due_at,
                     identity_verification, updated_at)
                 VALUES ('y', 'profiling', 'received', 'a', 'b', '', 'c')",
                [],
            )
            .is_err());
        assert!(conn
            .execute("INSERT INTO subjects VALUES ('no-such-request', '{}')", [])
            .is_err());
        // Migrating again changes nothing.
        migrate(&mut conn).unwrap();
    }
}
