//! Log output batched in memory and written to stdout by one thread, a few times a second.
//!
//! A request's log line is a copy into a shared buffer: no syscall and no thread wake-up per
//! line (handing each line to a writer thread cost a futex wake and a context switch, a sixth of
//! a check-user's time). Nothing is dropped: when the sink falls far behind, loggers wait.

use std::{
    io::{self, Write},
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Buffered bytes that wake the writer early.
const WAKE_AT_BYTES: usize = 64 * 1024;
/// Buffered bytes past which loggers wait for the writer, so a stuck sink cannot grow memory.
const BLOCK_AT_BYTES: usize = 4 * 1024 * 1024;

struct Shared {
    state: Mutex<State>,
    /// Signals the writer thread: enough bytes, or closing.
    wake_writer: Condvar,
    /// Signals blocked loggers: the buffer was taken.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    closing: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` handed to tracing-subscriber; cheap to clone.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Flushes what is left and stops the writer thread when dropped (keep it alive in `main`).
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer over `sink` and the guard that drains it at exit.
pub fn batched(sink: impl Write + Send + 'static) -> (BatchedWriter, FlushGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State { buffer: Vec::with_capacity(WAKE_AT_BYTES), closing: false }),
        wake_writer: Condvar::new(),
        drained: Condvar::new(),
    });
    let writer_shared = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(&writer_shared, sink))
        .expect("cannot start the log writer thread");
    (BatchedWriter { shared: Arc::clone(&shared) }, FlushGuard { shared, thread: Some(thread) })
}

fn write_batches(shared: &Shared, mut sink: impl Write) {
    let mut batch = Vec::with_capacity(WAKE_AT_BYTES);
    loop {
        let closing = {
            let mut state = shared.lock();
            if state.buffer.len() < WAKE_AT_BYTES && !state.closing {
                state = shared.wake_writer.wait_timeout(state, FLUSH_EVERY).unwrap_or_else(PoisonError::into_inner).0;
            }
            std::mem::swap(&mut state.buffer, &mut batch);
            state.closing
        };
        shared.drained.notify_all();
        if !batch.is_empty() {
            // A log sink that fails has nowhere to report it; the lines are lost, not the server.
            let _ = sink.write_all(&batch).and_then(|()| sink.flush());
            batch.clear();
            // A burst may have grown it; keep what ordinary traffic needs.
            batch.shrink_to(WAKE_AT_BYTES);
        }
        if closing && shared.lock().buffer.is_empty() {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake_writer.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for &BatchedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut state = self.shared.lock();
        while state.buffer.len() >= BLOCK_AT_BYTES && !state.closing {
            state = self.shared.drained.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.buffer.extend_from_slice(bytes);
        if state.buffer.len() >= WAKE_AT_BYTES {
            self.shared.wake_writer.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = &'a BatchedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read after the guard is gone.
    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl Write for Collected {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_reaches_the_sink_in_order_by_the_time_the_guard_drops() {
        let sink = Collected::default();
        let (writer, guard) = batched(sink.clone());
        let lines: Vec<String> = (0..50_000).map(|n| format!("line {n}\n")).collect();
        for line in &lines {
            (&writer).write_all(line.as_bytes()).unwrap();
        }
        drop(guard);
        assert_eq!(String::from_utf8(sink.0.lock().unwrap().clone()).unwrap(), lines.concat());
    }

    #[test]
    fn a_quiet_logger_is_written_within_the_flush_interval() {
        let sink = Collected::default();
        let (writer, _guard) = batched(sink.clone());
        (&writer).write_all(b"one line\n").unwrap();
        let deadline = std::time::Instant::now() + FLUSH_EVERY * 20;
        while sink.0.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "the line was never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&sink.0.lock().unwrap()[..], b"one line\n");
    }
}
