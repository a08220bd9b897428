//! Words for people, shared by every letter and page: dates written out in the reader's
//! language ("9 december 2026", "9 December 2026"), and a name at the end of a sentence that
//! gets one period, not two ("Noorderlicht Zorg B.V.", never "B.V..").

use jiff::civil::Date;

/// The months in Dutch, January first.
pub const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
/// The months in English, January first.
pub const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `date` written out in `language` (`nl`; anything else is English): "2 januari 2027",
/// "2 January 2027".
pub fn long_date(date: Date, language: &str) -> String {
    let months = if language.eq_ignore_ascii_case("nl") {
        &MONTHS_NL
    } else {
        &MONTHS_EN
    };
    let month = months[usize::try_from(date.month() - 1).unwrap_or(0)];
    format!("{} {month} {}", date.day(), date.year())
}

/// `text` ending a sentence: a period is added unless it already ends with one (or with `!`
/// or `?`).
pub fn end_sentence(text: &str) -> String {
    let trimmed = text.trim_end();
    if trimmed.ends_with(['.', '!', '?']) {
        trimmed.to_string()
    } else {
        format!("{trimmed}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn dates_are_written_out_in_the_readers_language() {
        assert_eq!(long_date(date(2027, 1, 2), "nl"), "2 januari 2027");
        assert_eq!(long_date(date(2027, 1, 2), "en"), "2 January 2027");
        assert_eq!(long_date(date(2031, 12, 31), "NL"), "31 december 2031");
    }

    #[test]
    fn a_sentence_ends_once() {
        assert_eq!(
            end_sentence("Noorderlicht Zorg B.V."),
            "Noorderlicht Zorg B.V."
        );
        assert_eq!(end_sentence("Voorbeeld IT"), "Voorbeeld IT.");
        assert_eq!(end_sentence("Wie?"), "Wie?");
    }
}
