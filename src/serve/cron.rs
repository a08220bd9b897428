//! When the scheduler runs a job: `[serve] inventory_sync` as five cron fields
//! (`minute hour day-of-month month day-of-week`, local time), the shorthand `"daily HH:MM"`,
//! or `"off"`.
//!
//! Each field takes `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, and lists of those
//! (`1,15`, `1-5`). Day of week counts from 0 = Sunday (7 is Sunday too). As in Vixie cron,
//! when both day fields are restricted a day matches either of them. Names (`mon`, `jan`) and
//! the `@daily` forms are not accepted; an error says what is.

use jiff::civil::{Date, DateTime, Time};
use jiff::ToSpan;

/// How far ahead [`Schedule::next_after`] looks: a schedule that never fires in this many days
/// (e.g. 30 February) is refused when parsed.
const HORIZON_DAYS: i32 = 366 * 8;

/// A parsed schedule: which minutes, hours, days, months and weekdays fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    any_day: bool,
    any_weekday: bool,
}

/// One field's bounds and name, for parsing and error texts.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
    },
    // 7 is Sunday as well; folded onto 0 after parsing.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
    },
];

impl Field {
    /// The field as a bit set (bit n = value n fires).
    fn parse(&self, text: &str) -> Result<u64, String> {
        let mut bits = 0u64;
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => {
                    let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!("{}: step `{step}` is not a whole number above 0", self.name)
                    })?;
                    (range, step)
                }
                None => (part, 1),
            };
            let (from, to) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                (self.value(a)?, self.value(b)?)
            } else {
                let a = self.value(range)?;
                // `5/15` means from 5 to the end in steps of 15.
                (a, if part.contains('/') { self.max } else { a })
            };
            if from > to {
                return Err(format!("{}: range `{range}` runs backwards", self.name));
            }
            for v in (from..=to).step_by(step as usize) {
                bits |= 1 << v;
            }
        }
        Ok(bits)
    }

    fn value(&self, text: &str) -> Result<u32, String> {
        text.parse::<u32>()
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .ok_or_else(|| {
                format!(
                    "{}: `{text}` is not a number from {} to {}",
                    self.name, self.min, self.max
                )
            })
    }
}

impl Schedule {
    /// Parse a setting; `Ok(None)` for `"off"`. The error says what is wrong, not where (the
    /// caller names the setting).
    pub fn parse(text: &str) -> Result<Option<Schedule>, String> {
        let text = text.trim();
        if text == "off" {
            return Ok(None);
        }
        let cron = match text.strip_prefix("daily ") {
            Some(at) => {
                let at: Time = at
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{}` is not a time HH:MM", at.trim()))?;
                format!("{} {} * * *", at.minute(), at.hour())
            }
            None => text.to_string(),
        };
        let parts: Vec<&str> = cron.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "`{text}` is not \"off\", \"daily HH:MM\" or five cron fields (minute hour day month weekday, e.g. \"0 3 * * *\")"
            ));
        }
        let mut bits = [0u64; 5];
        for (i, (field, part)) in FIELDS.iter().zip(&parts).enumerate() {
            bits[i] = field.parse(part)?;
        }
        // Sunday is 0 and 7.
        let weekdays = (bits[4] | (bits[4] >> 7)) & 0x7f;
        let schedule = Schedule {
            minutes: bits[0],
            hours: bits[1],
            days: bits[2],
            months: bits[3],
            weekdays,
            any_day: parts[2] == "*",
            any_weekday: parts[4] == "*",
        };
        let probe = jiff::civil::date(2026, 1, 1).at(0, 0, 0, 0);
        if schedule.next_after(probe).is_none() {
            return Err(format!("`{text}` never fires"));
        }
        Ok(Some(schedule))
    }

    fn day_matches(&self, date: Date) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let by_day = self.days & (1 << date.day()) != 0;
        let by_weekday = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (true, false) => by_weekday,
            (false, true) => by_day,
            (false, false) => by_day || by_weekday,
        }
    }

    /// The first minute strictly after `after` at which the schedule fires.
    pub fn next_after(&self, after: DateTime) -> Option<DateTime> {
        let start = after
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let mut date = start.date();
        for _ in 0..HORIZON_DAYS {
            if self.day_matches(date) {
                let first_day = date == start.date();
                for hour in 0..24i8 {
                    if self.hours & (1 << hour) == 0 || (first_day && hour < start.hour()) {
                        continue;
                    }
                    for minute in 0..60i8 {
                        let too_early =
                            first_day && hour == start.hour() && minute < start.minute();
                        if self.minutes & (1 << minute) != 0 && !too_early {
                            return Some(date.at(hour, minute, 0, 0));
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn next(schedule: &str, after: DateTime) -> DateTime {
        Schedule::parse(schedule)
            .unwrap()
            .unwrap()
            .next_after(after)
            .unwrap()
    }

    #[test]
    fn daily_shorthand_and_cron_agree() {
        let at = date(2026, 11, 26).at(2, 0, 0, 0);
        assert_eq!(next("daily 03:00", at), date(2026, 11, 26).at(3, 0, 0, 0));
        assert_eq!(next("0 3 * * *", at), date(2026, 11, 26).at(3, 0, 0, 0));
        // Strictly after: at 03:00 itself, the next is tomorrow's.
        let at = date(2026, 11, 26).at(3, 0, 0, 0);
        assert_eq!(next("0 3 * * *", at), date(2026, 11, 27).at(3, 0, 0, 0));
        assert_eq!(Schedule::parse("off").unwrap(), None);
    }

    #[test]
    fn lists_ranges_steps_and_weekdays() {
        // Thursday 26 November 2026, 10:07.
        let at = date(2026, 11, 26).at(10, 7, 0, 0);
        assert_eq!(
            next("*/15 * * * *", at),
            date(2026, 11, 26).at(10, 15, 0, 0)
        );
        assert_eq!(
            next("30 6,18 * * *", at),
            date(2026, 11, 26).at(18, 30, 0, 0)
        );
        // Weekdays only: Friday, then Monday.
        assert_eq!(next("0 3 * * 1-5", at), date(2026, 11, 27).at(3, 0, 0, 0));
        let friday = date(2026, 11, 27).at(4, 0, 0, 0);
        assert_eq!(
            next("0 3 * * 1-5", friday),
            date(2026, 11, 30).at(3, 0, 0, 0)
        );
        // Sunday as 0 and as 7.
        assert_eq!(next("0 3 * * 0", at), date(2026, 11, 29).at(3, 0, 0, 0));
        assert_eq!(next("0 3 * * 7", at), date(2026, 11, 29).at(3, 0, 0, 0));
        // The first of the month, across the year's end.
        let at = date(2026, 12, 2).at(0, 0, 0, 0);
        assert_eq!(next("0 0 1 * *", at), date(2027, 1, 1).at(0, 0, 0, 0));
        // Both day fields restricted: either matches (the 1st, or a Monday).
        assert_eq!(next("0 0 1 * 1", at), date(2026, 12, 7).at(0, 0, 0, 0));
        // 29 February comes.
        assert_eq!(next("0 0 29 2 *", at), date(2028, 2, 29).at(0, 0, 0, 0));
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (text, says) in [
            ("daily 3am", "HH:MM"),
            ("0 3 * *", "five cron fields"),
            ("60 3 * * *", "minute: `60`"),
            ("0 24 * * *", "hour: `24`"),
            ("0 3 0 * *", "day of month: `0`"),
            ("0 3 * 13 *", "month: `13`"),
            ("0 3 * * 8", "day of week: `8`"),
            ("0 3 * * mon", "day of week: `mon`"),
            ("*/0 * * * *", "step"),
            ("0 5-3 * * *", "backwards"),
            ("0 0 30 2 *", "never fires"),
            ("@daily", "five cron fields"),
        ] {
            let err = Schedule::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
