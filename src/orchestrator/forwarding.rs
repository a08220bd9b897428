//! Forwarding to the controller.
//!
//! When the organisation processes a customer's data on that customer's behalf (it is the
//! customer's processor), a request of the customer's data subject about that data is the
//! customer's to decide: the hub does not act on it, but forwards it to the customer's privacy
//! contact and tells the requester who the controller is. A subject is the customer's data
//! subject when an address is in one of its `email_domains`, or a record matched them under one
//! of its Autotask companies or IT Glue organizations. Only what processors marked
//! `on_behalf_of_customers` hold is forwarded; the organisation's own processing (its
//! bookkeeping, its own CRM) is handled normally — the split case.

use std::collections::BTreeMap;

use dsrhub_connector::{Letter, Subject};
use minijinja::{context, Environment};
use serde::Serialize;

use super::Hub;
use crate::config::ControllerConfig;
use crate::error::{Error, Result};
use crate::ledger::{Action, ItemRow, RequestRow};

fn template(kind: &str, language: &str) -> &'static str {
    match (kind, language) {
        ("forward", "en") => include_str!("templates/forward.en.txt"),
        ("forward", _) => include_str!("templates/forward.nl.txt"),
        (_, "en") => include_str!("templates/reply.en.txt"),
        (_, _) => include_str!("templates/reply.nl.txt"),
    }
}

/// Whether `controller`'s rules recognise the subject, by address or by where records matched.
fn recognises(
    controller: &ControllerConfig,
    subject: &Subject,
    items: &[ItemRow],
    kinds: &BTreeMap<&str, &str>,
) -> bool {
    let by_domain = subject.emails.iter().any(|e| {
        e.rsplit_once('@').is_some_and(|(_, domain)| {
            controller.email_domains.iter().any(|d| {
                d.trim_start_matches('@')
                    .eq_ignore_ascii_case(domain.trim())
            })
        })
    });
    by_domain
        || items
            .iter()
            .filter(|i| i.matched_by == "exact_email")
            .any(|i| {
                let scope = i
                    .reference
                    .scope
                    .as_deref()
                    .and_then(|s| s.parse::<u64>().ok());
                match (kinds.get(i.processor.as_str()).copied(), scope) {
                    (Some("autotask"), Some(company)) => {
                        controller.autotask_company_ids.contains(&company)
                    }
                    (Some("itglue"), Some(org)) => {
                        controller.itglue_organization_ids.contains(&org)
                    }
                    _ => false,
                }
            })
}

#[derive(Serialize)]
struct Held {
    name: String,
    records: usize,
}

impl Hub {
    /// Decide whether the request's subject is a customer's data subject; if so, what
    /// processors marked `on_behalf_of_customers` hold becomes `forward`. Returns the
    /// controller. Once recognised, the controller stays; but what becomes `forward` is
    /// applied again after every planning pass, so a task planned in a later run (its
    /// discovery failed before) is forwarded too, never erased or exported.
    pub(super) fn decide_forwarding(
        &self,
        request: &RequestRow,
        subject: &Subject,
    ) -> Result<Option<ControllerConfig>> {
        let known = self.ledger.request(&request.id)?.controller;
        if let Some(name) = &known {
            let Some(controller) = self.controllers.iter().find(|c| &c.name == name).cloned()
            else {
                return Ok(None);
            };
            self.apply_forwarding(&request.id, &controller)?;
            return Ok(Some(controller));
        }
        if self.controllers.is_empty() {
            return Ok(None);
        }
        // Only the PSA and documentation tools tie a person to a customer: load their items,
        // not a mailbox's thousands of messages.
        let mut items = Vec::new();
        for p in self
            .processors
            .iter()
            .filter(|p| matches!(p.kind.as_str(), "autotask" | "itglue"))
        {
            items.extend(self.ledger.items(&request.id, Some(&p.id))?);
        }
        let kinds: BTreeMap<&str, &str> = self
            .processors
            .iter()
            .map(|p| (p.id.as_str(), p.kind.as_str()))
            .collect();
        let Some(controller) = self
            .controllers
            .iter()
            .find(|c| recognises(c, subject, &items, &kinds))
        else {
            return Ok(None);
        };
        let controller = controller.clone();
        self.apply_forwarding(&request.id, &controller)?;
        Ok(Some(controller))
    }

    /// Make what processors marked `on_behalf_of_customers` hold for request `id` `forward`
    /// (what was already carried out stays as it was).
    fn apply_forwarding(&self, id: &str, controller: &ControllerConfig) -> Result<()> {
        let on_behalf: Vec<String> = self
            .processors
            .iter()
            .filter(|p| p.on_behalf_of_customers)
            .map(|p| p.id.clone())
            .collect();
        let note = format!(
            "held on behalf of {}: forwarded to them as controller",
            controller.name
        );
        self.ledger
            .set_forwarding(id, &controller.name, &on_behalf, &note)
    }

    /// Send the forwarding letter to the controller and the reply to the requester, once.
    /// Nothing is sent when the organisation found nothing it holds for the controller while
    /// it did find data of its own (then the request is simply its own).
    pub(super) async fn forward(
        &self,
        request_id: &str,
        controller: &ControllerConfig,
        subject: &Subject,
    ) -> Result<()> {
        let request = self.ledger.request(request_id)?;
        if request.forwarded_at.is_some() {
            return Ok(());
        }
        let items = self.ledger.items(request_id, None)?;
        let forwarded: Vec<&ItemRow> = items
            .iter()
            .filter(|i| i.action == Action::Forward)
            .collect();
        let own = items
            .iter()
            .any(|i| !matches!(i.action, Action::Forward | Action::Review));
        if forwarded.is_empty() && own {
            return Ok(());
        }
        let names: BTreeMap<&str, &str> = self
            .processors
            .iter()
            .map(|p| (p.id.as_str(), p.display_name.as_str()))
            .collect();
        let mut held: BTreeMap<&str, usize> = BTreeMap::new();
        for item in &forwarded {
            *held
                .entry(
                    names
                        .get(item.processor.as_str())
                        .copied()
                        .unwrap_or(item.processor.as_str()),
                )
                .or_default() += 1;
        }
        let held: Vec<Held> = held
            .into_iter()
            .map(|(name, records)| Held {
                name: name.to_string(),
                records,
            })
            .collect();
        let today = self.today()?;
        let language = controller.language.as_str();
        let date = |t: jiff::Timestamp| {
            t.in_tz(&self.timezone)
                .map(|z| dsrhub_connector::text::long_date(z.date(), language))
                .unwrap_or_else(|_| t.to_string())
        };
        let change = self.ledger.request_change(request_id)?.map(|(c, _)| c);
        let right = change.as_ref().map_or(request.kind.as_str(), |c| c.right());
        let (right_name, article) = dsrhub_connector::rights::request_name(right, language);
        let corrections: Vec<minijinja::Value> = change
            .as_ref()
            .map(|c| c.corrections(language))
            .unwrap_or_default()
            .into_iter()
            .map(|(label, value)| context! { label => label, value => value })
            .collect();
        let values = context! {
            organisation => &self.organisation,
            reply_to => &self.contact_email,
            request_id => request_id,
            right => right,
            right_name => right_name,
            article => article,
            corrections => corrections,
            purpose => change.as_ref().map_or("", |c| c.purpose_label(language)),
            controller => &controller.name,
            controller_ends => dsrhub_connector::text::end_sentence(&controller.name),
            controller_contact => &controller.privacy_contact,
            emails => &subject.emails,
            held => minijinja::value::Value::from(minijinja::value::Serde(&held)),
            received => date(request.received_at),
            due => date(request.extended_due_at.unwrap_or(request.due_at)),
            today => dsrhub_connector::text::long_date(today, language),
            split => own,
        };
        let render = |kind: &str, to: Vec<String>| -> Result<Letter> {
            let mut env = Environment::new();
            env.add_template("letter.txt", template(kind, &controller.language))
                .and_then(|_| env.get_template("letter.txt")?.render(&values))
                .map_err(|e| Error::Usage(format!("forwarding template: {e}")))
                .map(|text| {
                    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
                    Letter {
                        to,
                        subject: subject.trim().to_string(),
                        body: body.trim_start_matches('\n').to_string(),
                        answer_by: today,
                        language: controller.language.clone(),
                    }
                })
        };
        let forward = render("forward", vec![controller.privacy_contact.clone()])?;
        let reply = render("reply", subject.emails.iter().take(1).cloned().collect())?;
        let mut hashes = Vec::new();
        for (stem, letter) in [
            ("controller-forward", &forward),
            ("requester-reply", &reply),
        ] {
            let delivery = self.deliver(request_id, stem, letter).await?;
            if let Err(why) = delivery.sent {
                return Err(Error::Usage(format!(
                    "the {stem} letter could not be sent by e-mail: {why}; run the request again"
                )));
            }
            hashes.push(delivery.sha256);
        }
        self.ledger.forwarded(request_id, &hashes)
    }
}
