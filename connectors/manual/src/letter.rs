//! Request letters: Dutch and English templates, rendered with minijinja (plain text, so the
//! templates' names end in `.txt` and nothing is HTML-escaped).

use dsrhub_connector::{ConnectorError, Letter, LetterRequest};
use jiff::civil::{Date, Weekday};
use minijinja::{context, Environment};

use crate::config::{Language, ManualConfig};

const NL: &str = include_str!("templates/letter.nl.txt");
const EN: &str = include_str!("templates/letter.en.txt");

/// `today` plus `days` working days (Monday to Friday).
pub fn add_working_days(today: Date, days: u32) -> Date {
    let mut date = today;
    let mut left = days;
    while left > 0 {
        date = date.tomorrow().expect("a date within range");
        if !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    date
}

/// The letter for `request` to the processor in `config`.
pub fn render(
    config: &ManualConfig,
    request: &LetterRequest<'_>,
) -> Result<Letter, ConnectorError> {
    // Never after the request's own deadline, and never in the past: a request already past
    // it (late, or answered on an extension) asks for the agreed working days from today.
    let asked = add_working_days(request.today, config.answer_working_days);
    let answer_by = if request.request_due > request.today {
        asked.min(request.request_due)
    } else {
        asked
    };
    let (template, language) = match config.language {
        Language::Nl => (NL, "nl"),
        Language::En => (EN, "en"),
    };
    let right = match request.change {
        Some(change) => change.right(),
        None if request.erasure => "erasure",
        None => "access",
    };
    let (right_name, article) = dsrhub_connector::rights::request_name(right, language);
    let corrections: Vec<minijinja::Value> = request
        .change
        .map(|c| c.corrections(language))
        .unwrap_or_default()
        .into_iter()
        .map(|(label, value)| context! { label => label, value => value })
        .collect();
    let purpose = request.change.map_or("", |c| c.purpose_label(language));
    let mut env = Environment::new();
    env.add_template("letter.txt", template)
        .map_err(|e| ConnectorError::permanent(format!("letter template: {e}")))?;
    let text = env
        .get_template("letter.txt")
        .and_then(|t| {
            t.render(context! {
                processor => &config.name,
                organisation => request.organisation,
                reply_to => request.reply_to,
                request_id => request.request_id,
                right => right,
                right_name => right_name,
                article => article,
                corrections => corrections,
                purpose => purpose,
                emails => &request.subject.emails,
                answer_by => dsrhub_connector::text::long_date(answer_by, language),
            })
        })
        .map_err(|e| ConnectorError::permanent(format!("letter template: {e}")))?;
    // The first line of a template is the subject.
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    Ok(Letter {
        to: config.contacts.clone(),
        subject: subject.trim().to_string(),
        body: body.trim_start_matches('\n').to_string(),
        answer_by,
        language: language.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn working_days_skip_weekends() {
        // Wednesday 25 November 2026 + 10 working days = Wednesday 9 December.
        assert_eq!(add_working_days(date(2026, 11, 25), 10), date(2026, 12, 9));
        // Friday + 1 = Monday.
        assert_eq!(add_working_days(date(2026, 11, 27), 1), date(2026, 11, 30));
    }
}

#[cfg(test)]
mod letter_tests {
    use super::*;
    use crate::config::Language;
    use dsrhub_connector::Subject;
    use jiff::civil::date;

    fn config(language: Language) -> ManualConfig {
        ManualConfig {
            name: "Applicatielink".into(),
            contacts: vec!["privacy@applicatielink.example".into()],
            language,
            categories: vec![],
            answer_working_days: 10,
            location: "Netherlands".into(),
            eea: true,
        }
    }

    fn subject() -> Subject {
        Subject {
            emails: vec!["sanne.bakker@example.nl".into()],
            phones: vec!["06-12345678".into()],
            names: vec!["Sanne Bakker".into()],
        }
    }

    fn request<'a>(subject: &'a Subject, erasure: bool, due: Date) -> LetterRequest<'a> {
        LetterRequest {
            organisation: "Voorbeeld IT Diensten B.V.",
            reply_to: "privacy@voorbeeld-it.example",
            request_id: "req-42",
            erasure,
            change: None,
            subject,
            request_due: due,
            today: date(2026, 11, 25),
        }
    }

    #[test]
    fn dutch_and_english_letters_carry_what_is_needed_and_no_more() {
        let s = subject();
        for (language, erasure, asked, answer_by) in [
            (Language::Nl, true, "te wissen", "9 december 2026"),
            (
                Language::Nl,
                false,
                "een kopie te sturen",
                "9 december 2026",
            ),
            (Language::En, true, "Please erase", "9 December 2026"),
            (
                Language::En,
                false,
                "Please send us a copy",
                "9 December 2026",
            ),
        ] {
            let letter =
                render(&config(language), &request(&s, erasure, date(2026, 12, 25))).unwrap();
            let text = format!("{}\n{}", letter.subject, letter.body);
            assert!(letter.subject.contains("req-42"), "{text}");
            assert!(text.contains("sanne.bakker@example.nl"));
            assert!(text.contains(answer_by), "the answer date: {text}");
            assert!(
                !text.contains("2026-12-09"),
                "an ISO date in a letter: {text}"
            );
            assert!(text.contains(asked), "{text}");
            assert!(
                !text.contains("06-12345678") && !text.contains("Sanne Bakker"),
                "beyond the minimum: {text}"
            );
            assert_eq!(
                letter.to,
                vec!["privacy@applicatielink.example".to_string()]
            );
        }
        let letter = render(
            &config(Language::Nl),
            &request(&s, true, date(2026, 12, 25)),
        )
        .unwrap();
        assert!(letter.body.contains("art. 52 lid 4 AWR"));
    }

    #[test]
    fn each_other_right_asks_for_its_own_change_in_both_languages() {
        use dsrhub_connector::{Change, Field, Purpose};
        let s = subject();
        let rectify = Change::Rectify {
            values: [
                (Field::Phone, "+31 20 555 0100".to_string()),
                (Field::LastName, "de Groot".to_string()),
            ]
            .into(),
        };
        let object = Change::Object {
            purpose: Purpose::Newsletter,
        };
        let lift = Change::Restore { restricted: vec![] };
        for (change, language, expected) in [
            (
                &rectify,
                Language::Nl,
                &[
                    "rectificatie",
                    "artikel 16",
                    "telefoonnummer: +31 20 555 0100",
                    "achternaam: de Groot",
                ][..],
            ),
            (
                &rectify,
                Language::En,
                &[
                    "rectification",
                    "Article 16",
                    "phone number: +31 20 555 0100",
                    "last name: de Groot",
                ][..],
            ),
            (
                &Change::Restrict,
                Language::Nl,
                &["beperking van de verwerking", "artikel 18", "niet meer"][..],
            ),
            (
                &Change::Restrict,
                Language::En,
                &["restriction of processing", "Article 18", "do not use"][..],
            ),
            (
                &lift,
                Language::Nl,
                &["opheffing", "artikel 18 lid 3", "weer verwerken"][..],
            ),
            (
                &lift,
                Language::En,
                &["restriction lifted", "Article 18(3)", "again"][..],
            ),
            (
                &object,
                Language::Nl,
                &["bezwaar", "artikel 21", "nieuwsbrieven"][..],
            ),
            (
                &object,
                Language::En,
                &["objection", "Article 21", "newsletters"][..],
            ),
        ] {
            let mut ask = request(&s, false, date(2026, 12, 25));
            ask.change = Some(change);
            let letter = render(&config(language), &ask).unwrap();
            let text = format!("{}\n{}", letter.subject, letter.body);
            for want in expected {
                assert!(text.contains(want), "{want} missing from: {text}");
            }
            assert!(text.contains("sanne.bakker@example.nl") && text.contains("req-42"));
            assert!(
                !text.contains("kopie") && !text.contains("copy of") && !text.contains("wissen"),
                "an access or erasure sentence in: {text}"
            );
            assert!(!text.contains("{{") && !text.contains("{%"), "{text}");
        }
    }

    #[test]
    fn the_answer_date_never_passes_the_requests_own_deadline() {
        let s = subject();
        let letter = render(
            &config(Language::En),
            &request(&s, false, date(2026, 12, 1)),
        )
        .unwrap();
        assert_eq!(letter.answer_by, date(2026, 12, 1));
    }

    /// Issue 16.6: a request already past its own deadline (extended, or late) never gets a
    /// letter asking for an answer in the past: today plus the agreed working days.
    #[test]
    fn the_answer_date_is_never_in_the_past() {
        let s = subject();
        for due in [date(2026, 11, 20), date(2026, 11, 25)] {
            let letter = render(&config(Language::Nl), &request(&s, true, due)).unwrap();
            assert_eq!(letter.answer_by, date(2026, 12, 9), "due {due}");
            assert!(letter.body.contains("9 december 2026"), "{}", letter.body);
        }
    }
}
