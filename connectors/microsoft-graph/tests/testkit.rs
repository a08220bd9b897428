//! The SDK's connector test kit, run against the Microsoft Graph fake.

mod common;

use common::GraphHarness;

dsrhub_connector::connector_test_kit!(GraphHarness);
