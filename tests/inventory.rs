//! `dsrhub inventory sync`: the processor register from every configured processor, drift
//! against the declared register, history and what changed, failures recorded not fatal.

mod common;

use std::collections::BTreeMap;

use common::{contact_id, hub_for, manual_section, moneybird_table};
use dsrhub::inventory::{self, Entry};
use dsrhub_connector::secrets::Secrets;
use dsrhub_moneybird::fake::FakeMoneybird;

fn entry<'a>(register: &'a inventory::Register, id: &str) -> &'a Entry {
    register
        .entries
        .iter()
        .find(|e| e.processor == id)
        .unwrap_or_else(|| panic!("{id} not in the register"))
}

#[tokio::test]
async fn sync_counts_locates_flags_drift_and_keeps_history() {
    let fake = FakeMoneybird::start().await.unwrap();
    let secrets = Secrets::in_memory();
    secrets
        .store(&"keyring:mb".parse().unwrap(), &fake.token())
        .unwrap();
    let mut env = hub_for(
        BTreeMap::from([
            (
                "moneybird".to_string(),
                moneybird_table(&fake, "keyring:mb"),
            ),
            (
                "applicatielink".to_string(),
                manual_section("Applicatielink", "privacy@applicatielink.example", "nl"),
            ),
            (
                "ekco".to_string(),
                manual_section("Ekco Nederland", "dpo@ekco.example", "en"),
            ),
        ]),
        &secrets,
    );
    env.rebuild(
        |c| {
            c.register.processors = vec![
                "moneybird".into(),
                "applicatielink".into(),
                "exact-online".into(),
            ]
        },
        &secrets,
    );
    let (register, changes) = inventory::sync(&env.config, env.hub.processors(), &env.ledger)
        .await
        .unwrap();
    assert_eq!(changes, vec!["first sync".to_string()]);
    let mb = entry(&register, "moneybird");
    assert!(mb.reachable && mb.authenticated && mb.drift.is_none());
    let contacts = mb.counts["contact"];
    assert!(contacts > 0);
    assert_eq!(mb.eea, Some(true));
    assert!(!mb.categories.is_empty());
    // Declared but not configured, and configured but not declared.
    let exact = entry(&register, "exact-online");
    assert!(!exact.configured && exact.drift.as_deref().unwrap().contains("no connector"));
    let ekco = entry(&register, "ekco");
    assert!(
        ekco.configured
            && ekco
                .drift
                .as_deref()
                .unwrap()
                .contains("not in the register")
    );
    assert!(entry(&register, "applicatielink").drift.is_none());

    // A contact goes, and the token is revoked: the next sync says so, and still completes.
    let sanne = contact_id(&fake, "sanne.bakker@example.nl");
    let moneybird = env
        .hub
        .processors()
        .iter()
        .find(|p| p.id == "moneybird")
        .and_then(|p| p.connector.clone())
        .unwrap();
    moneybird
        .erase(
            &dsrhub_connector::RecordRef::new("contact", sanne),
            &dsrhub_connector::EraseAction::Delete,
        )
        .await
        .unwrap();
    let (register, changes) = inventory::sync(&env.config, env.hub.processors(), &env.ledger)
        .await
        .unwrap();
    let expected = format!("moneybird: contact {contacts} → {}", contacts - 1);
    assert!(changes.contains(&expected), "{changes:?}");
    fake.rotate_token();
    let (register2, changes) = inventory::sync(&env.config, env.hub.processors(), &env.ledger)
        .await
        .unwrap();
    let mb = entry(&register2, "moneybird");
    assert!(mb.reachable && !mb.authenticated && mb.error.is_some());
    assert!(
        changes.contains(&"moneybird: ok → not authenticated".to_string()),
        "{changes:?}"
    );
    // Counts are not claimed when they could not be read.
    assert!(
        !changes.iter().any(|c| c.contains("contact")),
        "{changes:?}"
    );
    assert_eq!(env.ledger.inventory_runs(10).unwrap().len(), 3);
    let _ = register;

    let csv = inventory::csv(&register2);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("processor,name,configured,declared"));
    assert_eq!(lines.count(), 4);
    env.ledger.verify_audit().unwrap();
}
