//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::testkit::{FakeControl, Fault};
use dsrhub_connector::RecordRef;

use super::FakeMoneybird;
use crate::mapping::{CONTACT, CONTACT_PERSON, SALES_INVOICE};

impl FakeControl for FakeMoneybird {
    fn inject(&self, fault: Fault) {
        match fault {
            Fault::Status {
                status,
                count,
                retry_after,
            } => self.fail_next(status, count, retry_after),
            Fault::Slow(delay) => self.set_slow(Some(delay)),
            Fault::ExpireCredentials => self.expire_token(),
        }
    }

    fn clear_faults(&self) {
        FakeMoneybird::clear_faults(self);
    }

    fn requests_seen(&self) -> u64 {
        FakeMoneybird::requests_seen(self)
    }

    fn contains(&self, record: &RecordRef) -> bool {
        let state = self.state();
        match record.object.as_str() {
            CONTACT => state.contacts.contains_key(&record.id),
            CONTACT_PERSON => record
                .scope
                .as_deref()
                .and_then(|c| state.person(c, &record.id))
                .is_some(),
            SALES_INVOICE => state.sales_invoices.contains_key(&record.id),
            _ => false,
        }
    }

    fn state_digest(&self) -> String {
        // The state's JSON is an exact digest, and cheap at fixture sizes.
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeMoneybird::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.rotate_token()
    }
}
