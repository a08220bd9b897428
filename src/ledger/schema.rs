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
];

/// Bring the schema up to date.
///
/// Safe when several processes open a new ledger at once: the version is read inside a
/// `BEGIN IMMEDIATE` transaction, so the second process waits for the first one's migration
/// and then finds nothing left to do (instead of failing with "table already exists").
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
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
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()
}
