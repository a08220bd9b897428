//! The SDK's connector test kit, run against the Moneybird fake.

mod common;

use common::MoneybirdHarness;

dsrhub_connector::connector_test_kit!(MoneybirdHarness);
