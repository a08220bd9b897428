//! Deadlines: calendar months in the organisation's time zone (31 January + 1 month =
//! 28/29 February), as GDPR art. 12(3) counts them.

use jiff::{Span, Timestamp};

use crate::error::{Error, Result};

/// `received` + `months` calendar months, counted in `timezone`.
pub fn add_months(received: Timestamp, months: u32, timezone: &str) -> Result<Timestamp> {
    let zoned = received.in_tz(timezone).map_err(|_| {
        Error::Config(format!(
            "hub.timezone: `{timezone}` is not a known time zone"
        ))
    })?;
    zoned
        .checked_add(Span::new().months(months))
        .map(|z| z.timestamp())
        .map_err(|e| Error::Usage(format!("cannot compute the deadline: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_calendar_month_in_amsterdam() {
        let received: Timestamp = "2026-01-31T10:00:00Z".parse().unwrap();
        let due = add_months(received, 1, "Europe/Amsterdam").unwrap();
        assert_eq!(due.to_string(), "2026-02-28T10:00:00Z");
        // Across the DST change the local time of day is kept.
        let received: Timestamp = "2026-03-15T10:00:00Z".parse().unwrap();
        let due = add_months(received, 1, "Europe/Amsterdam").unwrap();
        assert_eq!(due.to_string(), "2026-04-15T09:00:00Z");
    }
}
