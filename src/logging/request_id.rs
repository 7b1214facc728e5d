//! The id of the request this thread is working on, so every line logged meanwhile carries it.
//!
//! A tracing span per request did this job before, but making, entering, leaving and closing it
//! on every poll cost about 7,000 instructions per check-user (`bench/RESULTS.md`, ninth round).
//! A request's future is polled on whichever worker thread tokio picks, so the id is put in place
//! for each poll and taken back after it, by `scope`.

use std::cell::RefCell;

use axum::http::HeaderValue;

thread_local! {
    static CURRENT: RefCell<Option<HeaderValue>> = const { RefCell::new(None) };
}

/// Runs `work` with `id` as this thread's current request id and gives the id back afterwards,
/// also when `work` panics. The id is moved, not cloned: a clone of a generated id's bytes would
/// allocate on every poll.
pub fn scope<R>(id: &mut Option<HeaderValue>, work: impl FnOnce() -> R) -> R {
    /// Swaps the id back out, and whatever was current before back in.
    struct GiveBack<'a>(&'a mut Option<HeaderValue>);

    impl Drop for GiveBack<'_> {
        fn drop(&mut self) {
            CURRENT.with_borrow_mut(|current| std::mem::swap(current, self.0));
        }
    }

    CURRENT.with_borrow_mut(|current| std::mem::swap(current, id));
    let _give_back = GiveBack(id);
    work()
}

/// Reads the current request id, if a request is being worked on here.
pub fn with_current<R>(read: impl FnOnce(Option<&str>) -> R) -> R {
    // A line logged while the thread's locals are torn down, or from inside `scope`'s swap
    // (nothing logs there), is written without an id rather than panicking.
    let mut read = Some(read);
    let answer = CURRENT.try_with(|current| {
        let current = current.try_borrow().ok();
        let id = current.as_ref().and_then(|id| id.as_ref()).and_then(|id| id.to_str().ok());
        (read.take().expect("read once"))(id)
    });
    match answer {
        Ok(answer) => answer,
        Err(_destroyed) => (read.take().expect("read once"))(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Option<String> {
        with_current(|id| id.map(str::to_owned))
    }

    #[test]
    fn the_id_is_current_inside_the_scope_only_and_comes_back() {
        let mut id = Some(HeaderValue::from_static("outer"));
        assert_eq!(current(), None);
        let seen = scope(&mut id, current);
        assert_eq!(seen.as_deref(), Some("outer"));
        assert_eq!(current(), None);
        assert_eq!(id, Some(HeaderValue::from_static("outer")));
    }

    #[test]
    fn nested_scopes_restore_the_outer_id() {
        let mut outer = Some(HeaderValue::from_static("outer"));
        let mut inner = Some(HeaderValue::from_static("inner"));
        scope(&mut outer, || {
            assert_eq!(scope(&mut inner, current).as_deref(), Some("inner"));
            assert_eq!(current().as_deref(), Some("outer"));
        });
        assert_eq!(current(), None);
        assert_eq!((outer, inner), (Some(HeaderValue::from_static("outer")), Some(HeaderValue::from_static("inner"))));
    }

    #[test]
    fn a_panic_inside_the_scope_still_gives_the_id_back() {
        let mut id = Some(HeaderValue::from_static("lost?"));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scope(&mut id, || panic!("boom"))));
        assert!(caught.is_err());
        assert_eq!(current(), None);
        assert_eq!(id, Some(HeaderValue::from_static("lost?")));
    }
}
