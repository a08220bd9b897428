//! The SDK's connector test kit, run against the IT Glue fake.

mod common;

use common::ItGlueHarness;

dsrhub_connector::connector_test_kit!(ItGlueHarness);
