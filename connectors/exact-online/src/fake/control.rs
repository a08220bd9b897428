//! [`FakeControl`] for the SDK's connector test kit.

use dsrhub_connector::fakekit::{CallLog, Faults};
use dsrhub_connector::testkit::FakeControl;
use dsrhub_connector::RecordRef;

use super::{FakeExactOnline, Set};
use crate::mapping::{ACCOUNT, BANK_ACCOUNT, CONTACT, SALES_INVOICE, TRANSACTION_LINE};

impl FakeControl for FakeExactOnline {
    fn faults(&self) -> &Faults {
        FakeExactOnline::faults(self)
    }

    fn call_log(&self) -> &CallLog {
        self.log()
    }

    fn contains(&self, record: &RecordRef) -> bool {
        let set = match record.object.as_str() {
            CONTACT => Set::Contacts,
            ACCOUNT => Set::Accounts,
            BANK_ACCOUNT => Set::BankAccounts,
            SALES_INVOICE => Set::SalesInvoices,
            TRANSACTION_LINE => Set::TransactionLines,
            _ => return false,
        };
        let Some(division) = record.scope.as_deref().and_then(|s| s.parse::<u32>().ok()) else {
            return false;
        };
        self.state()
            .divisions
            .get(&division)
            .is_some_and(|d| d.set(set).contains_key(&record.id))
    }

    fn state_digest(&self) -> String {
        serde_json::to_string(&self.state()).expect("state serialises")
    }

    fn set_page_size(&self, size: Option<usize>) {
        FakeExactOnline::set_page_size(self, size);
    }

    fn rotate_credentials(&self) -> String {
        self.new_grant()
    }
}
