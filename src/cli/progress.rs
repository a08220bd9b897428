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
}

impl Bars {
    pub fn new() -> Bars {
        Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
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
        self.bar(processor).finish_with_message(message.to_string());
    }
}
