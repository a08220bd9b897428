//! The replies for rectification (art. 16), restriction (art. 18), objection (art. 21) and the
//! notice before a restriction is lifted (art. 18(3)): per processor what was changed, what
//! was already right or not concerned, and (art. 19) that every processor was told.

use super::words::{words, Words};
use super::{closing, day, fill, informed, opening, rights, Block, Context, Facts};

/// The words these replies add, per language.
struct ChangeWords {
    subject_rectification: &'static str,
    subject_restriction: &'static str,
    subject_objection: &'static str,
    subject_lift: &'static str,
    intro_rectification: &'static str,
    intro_restriction: &'static str,
    intro_objection: &'static str,
    done_heading: &'static str,
    changed: &'static str,
    unchanged: &'static str,
    not_held: &'static str,
    lift_text: &'static str,
    lift_reason: &'static str,
    lift_after: &'static str,
}

const NL: ChangeWords = ChangeWords {
    subject_rectification: "Uw verzoek om uw gegevens te corrigeren",
    subject_restriction: "Uw verzoek om de verwerking van uw gegevens te beperken",
    subject_objection: "Uw bezwaar",
    subject_lift: "De beperking van de verwerking van uw gegevens wordt opgeheven",
    intro_rectification: "U vroeg ons uw persoonsgegevens te corrigeren (artikel 16 AVG): {fields}. Hieronder ziet u per systeem wat wij hebben aangepast.",
    intro_restriction: "U vroeg ons de verwerking van uw persoonsgegevens te beperken (artikel 18 AVG). Wij bewaren uw gegevens, maar gebruiken ze niet meer totdat de beperking wordt opgeheven. Voordat dat gebeurt, laten wij het u weten. Hieronder ziet u per systeem wat wij hebben gemarkeerd.",
    intro_objection: "U maakte bezwaar tegen het gebruik van uw gegevens voor {purpose} (artikel 21 AVG). Wij gebruiken uw gegevens daar niet meer voor. Hieronder ziet u per systeem wat wij hebben vastgelegd.",
    done_heading: "Wat wij hebben gedaan",
    changed: "aangepast",
    unchanged: "al juist, of niet van toepassing",
    not_held: "geen gegevens van u",
    lift_text: "Op {received} vroeg u ons de verwerking van uw persoonsgegevens te beperken (artikel 18 AVG). Wij laten u weten dat wij die beperking gaan opheffen (artikel 18 lid 3 AVG).",
    lift_reason: "De reden:",
    lift_after: "Daarna verwerken wij uw gegevens weer zoals voor de beperking. Bent u het daar niet mee eens, laat het ons dan weten.",
};

const EN: ChangeWords = ChangeWords {
    subject_rectification: "Your request to correct your data",
    subject_restriction: "Your request to restrict the processing of your data",
    subject_objection: "Your objection",
    subject_lift: "The restriction of the processing of your data will be lifted",
    intro_rectification: "You asked us to correct your personal data (GDPR article 16): {fields}. Below you see, for each system, what we changed.",
    intro_restriction: "You asked us to restrict the processing of your personal data (GDPR article 18). We keep your data but no longer use it until the restriction is lifted. We will tell you before that happens. Below you see, for each system, what we marked.",
    intro_objection: "You objected to the use of your data for {purpose} (GDPR article 21). We no longer use your data for it. Below you see, for each system, what we recorded.",
    done_heading: "What we did",
    changed: "changed",
    unchanged: "already right, or not concerned",
    not_held: "no data about you",
    lift_text: "On {received} you asked us to restrict the processing of your personal data (GDPR article 18). We are letting you know that we are going to lift that restriction (GDPR article 18(3)).",
    lift_reason: "The reason:",
    lift_after: "After that we process your data again as before the restriction. If you disagree, please let us know.",
};

fn change_words(language: &str) -> &'static ChangeWords {
    if language.eq_ignore_ascii_case("nl") {
        &NL
    } else {
        &EN
    }
}

/// Which right a change reply answers, with what it needs to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right<'a> {
    /// Art. 16: the fields corrected, as the reader calls them.
    Rectification(&'a [&'a str]),
    /// Art. 18.
    Restriction,
    /// Art. 21: what the person objected to, as the reader calls it.
    Objection(&'a str),
}

/// The answer when a rectification, restriction or objection closes.
pub(super) fn answer(facts: &Facts, ctx: &Context<'_>, right: Right<'_>) -> (String, Vec<Block>) {
    let w: &Words = words(ctx.language);
    let c = change_words(ctx.language);
    let mut blocks = opening(w, facts, ctx);
    let (subject, intro) = match right {
        Right::Rectification(fields) => (
            c.subject_rectification,
            fill(c.intro_rectification, &[("fields", &fields.join(", "))]),
        ),
        Right::Restriction => (c.subject_restriction, c.intro_restriction.to_string()),
        Right::Objection(purpose) => (
            c.subject_objection,
            fill(c.intro_objection, &[("purpose", purpose)]),
        ),
    };
    blocks.push(Block::Para(intro));
    let rows = facts
        .processors
        .iter()
        .map(|p| {
            let changed = p.count("changed");
            let unchanged = p.count("unchanged");
            let mut parts = Vec::new();
            if changed > 0 {
                parts.push(format!("{changed} {}", c.changed));
            }
            if unchanged > 0 {
                parts.push(format!("{unchanged} {}", c.unchanged));
            }
            if parts.is_empty() {
                parts.push(c.not_held.to_string());
            }
            vec![p.name.clone(), parts.join(", ")]
        })
        .collect();
    blocks.push(Block::Heading(c.done_heading.into()));
    blocks.push(Block::Table(
        vec![w.col_processor.into(), w.col_outcome.into()],
        rows,
    ));
    // Art. 19 covers rectification and restriction; an objection concerns the organisation's
    // own use.
    if !matches!(right, Right::Objection(_)) {
        blocks.extend(informed(w, facts));
    }
    blocks.extend(rights(w));
    blocks.extend(closing(w, ctx, false));
    (subject.into(), blocks)
}

/// The notice before a restriction is lifted (art. 18(3)); `facts` are the restriction's,
/// `reason` why it ends.
pub(super) fn lift_notice(facts: &Facts, ctx: &Context<'_>, reason: &str) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let c = change_words(ctx.language);
    let mut blocks = vec![
        Block::Para(w.dear.into()),
        Block::Para(fill(
            c.lift_text,
            &[("received", &day(&facts.received_at, ctx))],
        )),
        Block::Para(format!("{} {}", c.lift_reason, reason.trim())),
        Block::Para(c.lift_after.into()),
    ];
    blocks.extend(closing(w, ctx, false));
    (c.subject_lift.into(), blocks)
}
