//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::testkit::{FakeControl, Fault};
use dsrhub_connector::RecordRef;

use super::FakeAutotask;
use crate::mapping::{CONTACT, TICKET};

impl FakeControl for FakeAutotask {
    fn inject(&self, fault: Fault) {
        match fault {
            // Autotask sends no Retry-After; a hint in the fault cannot be rendered.
            Fault::Status { status, count, .. } => self.fail_next(status, count),
            Fault::Slow(delay) => self.set_slow(Some(delay)),
            Fault::ExpireCredentials => self.expire_secret(),
        }
    }

    fn clear_faults(&self) {
        FakeAutotask::clear_faults(self);
    }

    fn requests_seen(&self) -> u64 {
        FakeAutotask::requests_seen(self)
    }

    fn contains(&self, record: &RecordRef) -> bool {
        let state = self.state();
        let Ok(id) = record.id.parse::<u64>() else {
            return false;
        };
        match record.object.as_str() {
            CONTACT => state.contacts.contains_key(&id),
            TICKET => state.tickets.contains_key(&id),
            _ => false,
        }
    }

    fn state_digest(&self) -> String {
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeAutotask::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.rotate_secret()
    }
}
