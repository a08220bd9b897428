//! Progress bars: one spinner per processor, drawn on stderr only when it is a terminal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::orchestrator::Progress;

/// Spinners for the orchestrator's progress events.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    /// The message a processor's spinner showed before its call started waiting.
    before_wait: Mutex<HashMap<String, String>>,
}

impl Bars {
    pub fn new() -> Bars {
        Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
            before_wait: Mutex::new(HashMap::new()),
        }
    }

    /// Take the spinners off the terminal (before printing a table of the same results).
    pub fn clear(&self) {
        let _ = self.multi.clear();
    }

    fn bar(&self, processor: &str) -> ProgressBar {
        let mut bars = self.bars.lock().expect("bars");
        bars.entry(processor.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:>16} {msg}")
                        .expect("valid template"),
                );
                bar.set_prefix(processor.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl Progress for Bars {
    fn update(&self, processor: &str, message: &str) {
        self.bar(processor).set_message(message.to_string());
    }

    fn finish(&self, processor: &str, message: &str) {
        self.before_wait.lock().expect("waits").remove(processor);
        self.bar(processor).finish_with_message(message.to_string());
    }

    fn waiting(&self, processor: &str, message: Option<&str>) {
        let bar = self.bar(processor);
        let mut before = self.before_wait.lock().expect("waits");
        match message {
            Some(message) => {
                before
                    .entry(processor.to_string())
                    .or_insert_with(|| bar.message());
                bar.set_message(message.to_string());
            }
            None => {
                if let Some(earlier) = before.remove(processor) {
                    bar.set_message(earlier);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_shows_on_the_spinner_and_then_what_it_showed_before() {
        let bars = Bars::new();
        bars.update("moneybird", "discovering");
        bars.waiting("moneybird", Some("waiting 6 s: Moneybird rate limit"));
        assert_eq!(
            bars.bar("moneybird").message(),
            "waiting 6 s: Moneybird rate limit"
        );
        // A second wait before the first is over keeps what to go back to.
        bars.waiting("moneybird", Some("waiting 3 s: Moneybird rate limit"));
        bars.waiting("moneybird", None);
        assert_eq!(bars.bar("moneybird").message(), "discovering");
        // Other processors' spinners are their own.
        bars.update("autotask", "erasing");
        bars.waiting("moneybird", None);
        assert_eq!(bars.bar("autotask").message(), "erasing");
        bars.clear();
    }
}
