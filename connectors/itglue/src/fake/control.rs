//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::testkit::{FakeControl, Fault};
use dsrhub_connector::RecordRef;

use super::FakeItGlue;

impl FakeControl for FakeItGlue {
    fn inject(&self, fault: Fault) {
        match fault {
            // IT Glue sends no Retry-After; a hint in the fault cannot be rendered.
            Fault::Status { status, count, .. } => self.fail_next(status, count),
            Fault::Slow(delay) => self.set_slow(Some(delay)),
            Fault::ExpireCredentials => self.revoke_key(),
        }
    }

    fn clear_faults(&self) {
        FakeItGlue::clear_faults(self);
    }

    fn requests_seen(&self) -> u64 {
        FakeItGlue::requests_seen(self)
    }

    fn contains(&self, record: &RecordRef) -> bool {
        record.object == crate::mapping::CONTACT
            && record
                .id
                .parse::<u64>()
                .is_ok_and(|id| self.state().contacts.contains_key(&id))
    }

    fn state_digest(&self) -> String {
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeItGlue::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.rotate_key()
    }
}
