//! Capturing every log line a future emits, at TRACE level.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Run `future` with a TRACE-level subscriber on this thread; return what it logged and the
/// future's output. Use it from a current-thread runtime (`#[tokio::test]`'s default), so
/// every task involved runs on this thread.
pub async fn capture_logs<F: Future>(future: F) -> (String, F::Output) {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    let output = {
        let _guard = tracing::subscriber::set_default(subscriber);
        future.await
    };
    let logs = String::from_utf8_lossy(&buffer.0.lock().expect("log buffer")).into_owned();
    (logs, output)
}
